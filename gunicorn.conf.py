"""gunicorn settings for the dashboard: `gunicorn -c gunicorn.conf.py "webapp:create_app()"`.

Why these settings:
- worker_class "gthread": every open dashboard holds one Server-Sent Events stream, and a
  stream holds a thread for as long as it is open. Threads are cheap; a sync worker would be
  blocked by a single open dashboard.
- threads: the number of simultaneous requests (open dashboards + everything else) a worker
  serves. At most half of them hold live streams (LIVE_STREAMS_PER_WORKER), so the rest
  always answer ordinary requests and the receiver. Raise it with GUNICORN_THREADS if many
  staff keep the dashboard open.
- on_starting: brings the database to the current schema (Flask-Migrate) and applies any
  delivery that was stored but not applied when the server last stopped, once, in the master
  process before the workers fork; create_app() itself never does either.
- when_ready: starts the applier process, `flask deliveries run-applier`, which applies
  stored deliveries to their Scheduling Requests right after they are acknowledged
  (webapp/webhooks/applier.py); on_exit stops it once the workers are gone, so that it
  applies what they stored last. WEBAPP_APPLIER_PROCESS=0 leaves it out: each worker then
  applies what it stores. It is started with exec, not forked: no master state in it.
- post_worker_init: starts the worker's applier thread (webapp/webhooks/applier.py), which
  wakes the worker's live streams when deliveries were applied and applies in the worker
  itself whenever the applier process does not answer. Threads are started here, after the
  fork, never in the master: nothing crosses a fork.
- post_worker_init also starts the worker's outbox thread (webapp/outbox/), which sends
  webhooks, emails and sandbox notifications; worker_exit stops it.
- post_worker_init ends by freezing what the worker has loaded (gc.freeze()), so that the
  garbage collector's full collections leave it alone.
- worker_exit: a worker buffers the visits of tracked links in memory for up to 0.1 s
  (webapp/tracking/visits.py) and counts refused deliveries in memory; on a graceful stop it
  writes both and stops its applier (what it left pending, another worker or the next start
  applies).
"""

from __future__ import annotations

import os
import subprocess
import sys

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(min(4, 2 * (os.cpu_count() or 1)))))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "32"))
# gthread workers heartbeat from their main loop, so a long SSE stream does not trip this.
timeout = 60
graceful_timeout = 10
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# Query strings under /sandbox/ and /l/ (claim tokens) never reach the access log.
logger_class = "webapp.access_log.RedactingLogger"
errorlog = "-"
# gunicorn's runtime control socket (gunicornc) lives at one fixed path per user, so several
# servers on one machine would fight over it; the app does not need it.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "0") != "1"
# Clients behind a proxy: pass TRUSTED_PROXIES to the app instead of trusting every peer.
forwarded_allow_ips = "127.0.0.1"


def post_worker_init(worker) -> None:  # type: ignore[no-untyped-def]
    """Start the applier; end open live streams promptly when told to stop (SIGTERM)."""
    import signal

    from flask import Flask

    from webapp.webhooks import applier

    if isinstance(worker.wsgi, Flask):
        applier.start(worker.wsgi)

    from webapp.live.stream import SHUTTING_DOWN

    stop = signal.getsignal(signal.SIGTERM)

    def on_term(signum, frame):  # type: ignore[no-untyped-def]
        SHUTTING_DOWN.set()
        if callable(stop):
            stop(signum, frame)

    signal.signal(signal.SIGTERM, on_term)

    from webapp.outbox import start_in_worker

    start_in_worker(worker.wsgi)  # this worker's outbox thread (webapp/outbox/__init__.py)

    import gc

    # What is loaded by now (modules, the app, its metadata: ~140,000 objects) lives as long
    # as the worker. Frozen, the collector's full collections skip it instead of walking it,
    # a pause of about 0.1 s every few thousand requests (docs/architecture.md, Production).
    gc.freeze()


def worker_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    """Write what this worker still buffers (visits, refusal counts) and stop its applier."""
    from flask import Flask

    from webapp.tracking.visits import flush_all
    from webapp.webhooks import applier

    app = getattr(worker, "wsgi", None)
    if isinstance(app, Flask):
        applier.stop(app)
    flush_all()
    from webapp.outbox import stop_in_worker

    stop_in_worker(getattr(worker, "wsgi", None))


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    # A gthread worker accepts up to worker_connections (default 1000) connections but serves
    # only `threads` at a time, and the kernel does not balance accepts between workers:
    # under a burst one worker took 13 connections with 8 threads while its sibling had 1,
    # so streams sat queued there behind streams that never end, and a delivery or /healthz
    # landing on it timed out while the other worker had free threads (tests/reliability/
    # test_live_streams.py, test_streams_filling_most_threads_never_starve_the_receiver).
    # One connection per thread makes a full worker stop accepting, so the next connection
    # goes to a worker with a free thread. Set here, where --threads is already applied.
    # The price: no idle keep-alive connections (gunicorn answers "Connection: close", and
    # logs "No keepalived connections can be handled" at start: expected). keepalive stays
    # at 5: gthread also uses it as the wait for a new connection's first bytes.
    server.cfg.set("worker_connections", server.cfg.threads)
    # The workers (forked from here) size their live-stream cap from their thread count
    # (webapp/live/capacity.py): half the threads at most hold streams.
    os.environ["WEBAPP_WORKER_THREADS"] = str(server.cfg.threads)
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.extensions import db

    app = create_app()
    from webapp.webhooks import processing

    with app.app_context():
        upgrade()
        applied = sum(processing.drain(processing.current_inbox()).values())
        if applied:
            server.log.info("applied %d delivery(ies) left pending by the last run", applied)
        db.engine.dispose()  # no connection may cross the fork into the workers


def when_ready(server) -> None:  # type: ignore[no-untyped-def]
    """Start the applier process (module docstring); it stops by itself if the master dies."""
    server.applier_process = None
    if os.environ.get("WEBAPP_APPLIER_PROCESS", "1") == "0":
        return
    command = [sys.executable, "-m", "flask", "--app", "webapp"]
    command += ["deliveries", "run-applier", "--parent", str(os.getpid())]
    server.applier_process = subprocess.Popen(command)  # noqa: S603 - a fixed command
    server.log.info("applier process started (pid %s)", server.applier_process.pid)


def on_exit(server) -> None:  # type: ignore[no-untyped-def]
    """Stop the applier process after the workers: it applies what they stored last."""
    process = getattr(server, "applier_process", None)
    if process is None:
        return
    process.terminate()
    try:
        process.wait(graceful_timeout)
    except subprocess.TimeoutExpired:
        process.kill()
    except ChildProcessError:  # the master's own reaping got there first
        pass
