"""Issue 5, reliability 3: many open live streams (signed-in dashboards) while the delivery
load runs. Every stream receives every changed Scheduling Request at least once, and the
receiver keeps answering 2xx while the streams hold their worker threads."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx
import pytest

from tests.reliability.checks import apply_delays
from tests.reliability.traffic import Listener, run, send_all
from tests.reliability.workload import Scale, build_workload
from tests.support import factories
from tests.support.deliveries import store_unapplied
from tests.support.server import running_server
from tests.support.signin import sign_in_http_async
from webapp.live.feed import DEFAULT_GRACE
from webapp.webhooks import processing

READY_TIMEOUT = 30.0
SETTLE_TIMEOUT = 30.0  # after the last acknowledgement, for the streams to catch up


async def load_with_streams(server, workload, scale, email):  # type: ignore[no-untyped-def]
    """Open `streams` signed-in streams, send the workload, wait for the streams to settle."""
    streams = scale.streams
    limits = httpx.Limits(max_connections=streams + 4)
    timeout = httpx.Timeout(30.0, read=60.0)  # heartbeats come every 15 s
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=timeout) as web:
        await sign_in_http_async(web, email)  # one session, shared by every stream
        listeners = [Listener(number) for number in range(streams)]
        tasks = [asyncio.create_task(listener.run(web)) for listener in listeners]
        try:
            await all_ready(listeners)
            report = await send_all(
                server.base_url,
                server.client_secret,
                workload.posts,
                scale.senders,
                time_limit=scale.send_limit,
            )
            load_ended = time.monotonic()
            wanted = workload.request_ids
            while time.monotonic() - load_ended < SETTLE_TIMEOUT:
                if all(wanted <= listener.seen for listener in listeners):
                    break
                await asyncio.sleep(0.2)
            settled = time.monotonic() - load_ended
        finally:
            await stop(tasks)
    return report, listeners, settled, load_ended


async def all_ready(listeners: list[Listener]) -> None:
    try:
        await asyncio.wait_for(
            asyncio.gather(*(listener.ready.wait() for listener in listeners)), READY_TIMEOUT
        )
    except TimeoutError:
        opened = sum(listener.ready.is_set() for listener in listeners)
        raise AssertionError(
            f"only {opened} of {len(listeners)} streams opened within {READY_TIMEOUT} s"
        ) from None


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def uncapped(env: dict[str, str], streams: int, threads: int) -> dict[str, str]:
    """These tests are about every stream getting every change, all of one user's streams
    held by one worker at worst: lift the stream caps (tested in test_stream_capacity.py)."""
    return {**env, "LIVE_STREAMS_PER_USER": str(streams), "LIVE_STREAMS_PER_WORKER": str(threads)}


def make_viewer(server_database) -> str:  # type: ignore[no-untyped-def]
    """A staff user in the server's database; their email (password factories.PASSWORD)."""
    email = f"viewer-{server_database.run}@example.com"
    with server_database.reader.app_context():
        factories.make_user(email=email, role="staff", name="Stream Viewer")
    return email


@pytest.mark.slow
def test_every_open_stream_receives_every_change_while_the_receiver_keeps_answering(
    tmp_path, scale, server_database
):
    workload = build_workload(scale, server_database.run)
    email = make_viewer(server_database)

    env = uncapped(server_database.env, scale.streams, scale.threads)
    with running_server(tmp_path, workers=scale.workers, threads=scale.threads, env=env) as server:
        report, listeners, settled, load_ended = run(
            load_with_streams(server, workload, scale, email)
        )
        log = server.log()

    wanted = workload.request_ids
    rows = [listener.rows for listener in listeners]
    lag = [
        max(listener.first_seen.values(), default=load_ended) - load_ended for listener in listeners
    ]
    print(
        f"\n{len(workload.posts)} posts (seed {workload.seed}) in {report.seconds:.1f} s with "
        f"{len(listeners)} streams open; p50 {report.latency(0.5) * 1000:.0f} ms, "
        f"p99 {report.latency(0.99) * 1000:.0f} ms; rows per stream "
        f"{min(rows)}..{max(rows)} (median {statistics.median(rows):.0f}); last new id "
        f"{max(lag):.1f} s after the load; settled after {settled:.1f} s; "
        f"connections per stream {max(listener.connections for listener in listeners)}"
    )
    delays = apply_delays(server_database.reader)
    print(f"store-to-apply: p99 {delays[int(0.99 * len(delays))]:.2f} s, max {delays[-1]:.2f} s")
    report.assert_all_acknowledged(scale.send_limit)
    missing = {
        listener.number: sorted(wanted - listener.seen)[:5]
        for listener in listeners
        if not wanted <= listener.seen
    }
    assert not missing, (
        f"{len(missing)} of {len(listeners)} streams missed changes, e.g. {missing}; "
        f"missed per stream: {[len(wanted - listener.seen) for listener in listeners]}"
    )
    assert all(listener.seen <= wanted for listener in listeners)
    assert not [listener.errors for listener in listeners if listener.errors]
    assert "Traceback" not in log, log[-3000:]


def test_streams_filling_most_threads_never_starve_the_receiver(tmp_path, server_database):
    """gthread hands each accepted connection to its own worker's thread pool, and the
    kernel does not balance accepts between workers: with 14 streams on 2 workers x 8
    threads, one worker could take 9+ of them while the other idled, leaving streams and
    deliveries queued behind streams that never end (seen: 13 connections on one worker)."""
    workers, threads, streams, senders = 2, 8, 14, 1
    scale = Scale(deliveries=100, requests=40, senders=senders, workers=workers, streams=streams)
    workload = build_workload(scale, server_database.run)
    email = make_viewer(server_database)
    env = uncapped(server_database.env, streams, threads)
    with running_server(tmp_path, workers=workers, threads=threads, env=env) as server:
        report, listeners, settled, _ = run(load_with_streams(server, workload, scale, email))
    report.assert_all_acknowledged(scale.send_limit)
    assert report.latency(1.0) < 5.0  # Cronofy's answer budget, for every delivery
    assert all(workload.request_ids <= listener.seen for listener in listeners)


async def _late_apply(server, reader, email, late_body, other_bodies):  # type: ignore[no-untyped-def]
    """Streams open; a delivery stored but left pending (as a server that died between
    acknowledging and applying leaves it); newer deliveries, applied by another server,
    flow past it for longer than the feed's gap grace; then another process applies it
    (`flask deliveries apply-pending`, or any server's sweep). Returns the listeners."""
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=httpx.Timeout(30.0, read=60.0)
    ) as web:
        await sign_in_http_async(web, email)
        listeners = [Listener(number) for number in range(3)]
        tasks = [asyncio.create_task(listener.run(web)) for listener in listeners]
        try:
            await all_ready(listeners)
            store_unapplied(reader, late_body)
            with reader.app_context():
                inbox = processing.current_inbox()
                for body in other_bodies:  # "another server": applies only its own
                    assert processing.reprocess(inbox, store_unapplied(reader, body)) == "applied"
            await asyncio.sleep(DEFAULT_GRACE + 2)  # the feed gives up waiting for the gap
            with reader.app_context():
                assert processing.drain(processing.current_inbox()) == {"applied": 1}
            waited = time.monotonic()
            late_id = json.loads(late_body)["scheduling_request"]["scheduling_request_id"]
            while time.monotonic() - waited < 10:
                if all(late_id in listener.seen for listener in listeners):
                    break
                await asyncio.sleep(0.2)
        finally:
            await stop(tasks)
    return listeners


def test_a_delivery_applied_after_the_gap_grace_still_reaches_open_streams(
    tmp_path, server_database
):
    scale = Scale(deliveries=11, requests=11, duplicate_share=0.0)
    workload = build_workload(scale, server_database.run)
    late_body, others = workload.posts[0], workload.posts[1:]
    email = make_viewer(server_database)
    # No sweep by the server during the test: the late delivery is applied by another process.
    instance = server_database.env["WEBAPP_INSTANCE_PATH"]
    with open(f"{instance}/config.py", "w") as config:
        config.write("RECEIVER_SWEEP_SECONDS = 600\n")
    with running_server(tmp_path, workers=2, threads=8, env=server_database.env) as server:
        listeners = run(_late_apply(server, server_database.reader, email, late_body, others))
    wanted = workload.request_ids
    for listener in listeners:
        assert wanted - listener.seen == set(), f"stream {listener.number} missed these"
        assert not listener.errors
