"""Issue 5, reliability 2: `kill -9` of the whole server (master and workers) in the middle
of the load, a restart on the same database, and a resend of everything that was not
acknowledged, as Cronofy retries. Every acknowledged delivery must have been stored before
its 2xx, and in the end everything is applied, in triggered_at order."""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading

import pytest

from tests.reliability.checks import read_back, state_mismatches, wait_until_applied
from tests.reliability.traffic import run, send_all
from tests.reliability.workload import build_workload
from tests.support.server import running_server


async def load_until_killed(server, bodies, scale, kill_after):  # type: ignore[no-untyped-def]
    """Send bodies; once `kill_after` are acknowledged, kill the server mid-load."""
    stop = asyncio.Event()
    killed = threading.Event()

    def on_acknowledged(total: int) -> None:
        if total >= kill_after and not killed.is_set():
            killed.set()
            server.kill()  # SIGKILL to the process group; other posts are in flight now
            stop.set()

    report = await send_all(
        server.base_url,
        server.client_secret,
        bodies,
        scale.senders,
        time_limit=scale.send_limit,
        stop=stop,
        on_acknowledged=on_acknowledged,
    )
    return report, killed.is_set()


@pytest.mark.slow
def test_kill_9_mid_load_then_restart_and_resend_loses_nothing(tmp_path, scale, server_database):
    workload = build_workload(scale, server_database.run)
    rng = random.Random(workload.seed)
    kill_after = int(len(workload.posts) * rng.uniform(0.3, 0.6))
    env = server_database.env

    with running_server(tmp_path, workers=scale.workers, threads=scale.threads, env=env) as first:
        report, killed = run(load_until_killed(first, workload.posts, scale, kill_after))
        first_log = first.log()
    assert killed, f"the load ended before {kill_after} acknowledgements: {report.answers()}"
    assert first.process.returncode == -9
    assert not report.http_failures(), report.http_failures()
    acknowledged = report.acknowledged()
    unacknowledged = report.unacknowledged()
    print(
        f"\nkilled after {len(acknowledged)} acknowledged of {len(workload.posts)} posts "
        f"(seed {workload.seed}); {len(unacknowledged) - report.unsent()} in flight lost "
        f"their answer, {report.unsent()} never sent"
    )
    assert "Traceback" not in first_log, first_log[-3000:]

    # Durable before acknowledged: every 2xx body is in the database, even before restart.
    stored = read_back(server_database.reader)
    acknowledged_hashes = {hashlib.sha256(workload.posts[i]).hexdigest() for i in acknowledged}
    assert acknowledged_hashes <= stored.deliveries.keys()
    pending_at_crash = stored.statuses()["pending"]

    with running_server(tmp_path, workers=scale.workers, threads=scale.threads, env=env) as second:
        resend = [workload.posts[i] for i in unacknowledged]
        rng.shuffle(resend)
        retry = run(
            send_all(
                second.base_url,
                second.client_secret,
                resend,
                scale.senders,
                time_limit=scale.send_limit,
            )
        )
        wait_until_applied(server_database.reader)
        second_log = second.log()
    print(
        f"{pending_at_crash} pending at the crash; resent {len(resend)} in "
        f"{retry.seconds:.1f} s: {dict(retry.answers())}"
    )
    retry.assert_all_acknowledged(scale.send_limit)
    if pending_at_crash:
        assert f"applied {pending_at_crash} delivery(ies) left pending" in second_log
    assert "Traceback" not in second_log, second_log[-3000:]

    stored = read_back(server_database.reader)
    assert acknowledged_hashes <= stored.deliveries.keys()
    assert state_mismatches(stored, workload) == []
