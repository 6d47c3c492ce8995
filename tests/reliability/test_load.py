"""Issue 5, reliability 1: concurrent, shuffled, partly duplicated deliveries into gunicorn
with several workers. Every post is acknowledged, and every Scheduling Request ends in the
state its notifications give when applied in triggered_at order."""

from __future__ import annotations

import pytest

from tests.reliability.checks import read_back, state_mismatches, wait_until_applied
from tests.reliability.traffic import run, send_all
from tests.reliability.workload import build_workload
from tests.support.server import running_server


@pytest.mark.slow
def test_shuffled_duplicated_load_ends_in_triggered_at_order_state(
    tmp_path, scale, server_database
):
    workload = build_workload(scale, server_database.run)
    with running_server(
        tmp_path, workers=scale.workers, threads=scale.threads, env=server_database.env
    ) as server:
        report = run(
            send_all(
                server.base_url,
                server.client_secret,
                workload.posts,
                scale.senders,
                time_limit=scale.send_limit,
            )
        )
        drained = wait_until_applied(server_database.reader)
        log = server.log()
    print(
        f"\n{len(workload.posts)} posts (seed {workload.seed}) in {report.seconds:.1f} s, "
        f"{len(workload.posts) / report.seconds:.0f}/s, p50 {report.latency(0.5) * 1000:.0f} ms, "
        f"p99 {report.latency(0.99) * 1000:.0f} ms; answers {dict(report.answers())}; "
        f"everything applied {drained:.2f} s after the last answer"
    )

    report.assert_all_acknowledged(scale.send_limit)
    answers = report.answers()
    duplicates = len(workload.posts) - len(workload.notes)
    # A resend arriving while its first copy is still being stored is also a duplicate.
    assert answers["duplicate"] == duplicates, answers
    assert answers["stored"] == len(workload.notes), answers
    assert "Traceback" not in log, log[-3000:]

    stored = read_back(server_database.reader)
    assert state_mismatches(stored, workload) == []
