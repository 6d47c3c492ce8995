"""What the live streams of one process share (webapp/live/fanout.py): one run of a
look-up that several streams ask for at the same moment."""

from __future__ import annotations

import threading
import time

import pytest

from webapp.live.fanout import SharedReads


def test_streams_asking_at_once_share_one_run():
    reads = SharedReads(lifetime=1.0)
    runs = []
    release = threading.Event()

    def slow_question() -> str:
        runs.append(threading.get_ident())
        release.wait(5)
        return "answer"

    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(reads.get("key", slow_question)))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    release.set()
    for thread in threads:
        thread.join()
    assert answers == ["answer"] * 5
    assert len(runs) == 1


def test_an_answer_is_shared_only_for_its_lifetime_and_only_for_its_key():
    now = [100.0]
    reads = SharedReads(lifetime=0.05, clock=lambda: now[0])
    count = iter(range(100))
    assert reads.get("a", lambda: next(count)) == 0
    assert reads.get("a", lambda: next(count)) == 0
    assert reads.get("b", lambda: next(count)) == 1
    now[0] += 0.06
    assert reads.get("a", lambda: next(count)) == 2


def test_a_failed_run_is_not_shared():
    reads = SharedReads(lifetime=10.0)

    def broken() -> int:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        reads.get("key", broken)
    assert reads.get("key", lambda: 7) == 7
