"""The applier process (`flask deliveries run-applier`, which gunicorn.conf.py starts) and the
doorbell the receiver rings it with (webapp/doorbell.py): deliveries are applied there, in
the workers when it is gone, and it never outlives the server that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.deliveries import (
    RECEIVER,
    count_with_status,
    notification_body,
    signed_headers,
    store_unapplied,
)
from tests.support.server import ROOT, applier_pids, eventually, running_server
from webapp import doorbell
from webapp.models import utcnow
from webapp.webhooks import applier as appliers
from webapp.webhooks import payload
from webapp.webhooks.fold import Ready

# --- the doorbell --------------------------------------------------------------------------


def test_a_ring_is_answered_only_while_a_process_listens():
    name = doorbell.address(f"test-{uuid.uuid4()}")
    assert doorbell.ring(name) is False
    listener = doorbell.listen(name)
    try:
        assert doorbell.ring(name) is True
        listener.settimeout(2)
        assert listener.recv(16) == b"!"
        with pytest.raises(OSError):
            doorbell.listen(name)  # one listener per bell: a second applier process stands down
    finally:
        listener.close()
    assert doorbell.ring(name) is False


def test_a_bell_rung_faster_than_it_is_read_still_answers():
    name = doorbell.address(f"test-{uuid.uuid4()}")
    listener = doorbell.listen(name)
    try:
        assert all(doorbell.ring(name) for _ in range(200))  # its queue is full long before
    finally:
        listener.close()


def test_each_database_has_its_own_bell_however_its_url_is_spelt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = appliers.database_key(make_url("sqlite:///app.sqlite3"))
    absolute = appliers.database_key(make_url(f"sqlite:///{tmp_path / 'app.sqlite3'}"))
    other = appliers.database_key(make_url(f"sqlite:///{tmp_path / 'other.sqlite3'}"))
    assert relative == absolute != other
    postgres = "postgresql://links:secret@db.internal:5432/links"
    same_database = "postgresql+psycopg://links:other@db.internal:5432/links?sslmode=require"
    assert appliers.database_key(make_url(postgres)) == appliers.database_key(
        make_url(same_database)
    )
    assert appliers.database_key(make_url(postgres)) != appliers.database_key(
        make_url("postgresql://links:secret@db.internal:5432/staging")
    )
    assert doorbell.address(relative) == doorbell.address(absolute) != doorbell.address(other)


def test_without_abstract_sockets_the_applier_process_ends_at_once(app, monkeypatch):
    monkeypatch.setattr(doorbell, "supported", lambda: False)
    assert doorbell.ring(doorbell.address("anything")) is False
    started = time.monotonic()
    appliers.serve(app)  # returns: it would wait forever for a ring nobody can send
    assert time.monotonic() - started < 5
    doorbell.listen(appliers.applier(app).bell).close()  # it never took the doorbell


# --- the receiver's side -------------------------------------------------------------------


def test_stored_deliveries_ring_the_applier_process_and_are_applied_here_without_one(app):
    body = notification_body("srq_bell")
    delivery_id = store_unapplied(app, body)
    stored = [Ready(delivery_id, utcnow(), payload.parse(body))]
    mine = appliers.Applier(app, start_on_wake=False)  # no thread: nothing applies behind
    listener = doorbell.listen(mine.bell)
    try:
        mine.stored(stored)
        listener.settimeout(2)
        assert listener.recv(16) == b"!"
        assert mine.holding() == 0  # the applier process reads it from the database
    finally:
        listener.close()
    mine.stored(stored)
    assert mine.holding() == 1  # nobody answered: this process applies it, already read


# --- under gunicorn ------------------------------------------------------------------------


def applied_count(database_url: str) -> int:
    return count_with_status(database_url, "applied")


def post_delivery(server, srq_id: str) -> None:
    body = notification_body(srq_id)
    answer = httpx.post(
        server.base_url + RECEIVER,
        content=body,
        headers=signed_headers(body, server.client_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except OSError:
        return False
    return state != b"Z"


def test_gunicorn_runs_one_applier_process_and_the_workers_apply_when_it_is_gone(tmp_path):
    with running_server(tmp_path, workers=2, threads=4) as server:
        bell = doorbell.address(appliers.database_key(make_url(server.database_url)))
        [process] = eventually(lambda: applier_pids(server.process.pid))
        assert eventually(lambda: doorbell.ring(bell))  # it listens once it has started
        post_delivery(server, "srq_by_the_process")
        assert eventually(lambda: applied_count(server.database_url) == 1)

        # A second applier for the same database waits while the first holds the doorbell,
        # and takes over when the first is gone.
        second = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "webapp", "deliveries", "run-applier"],
            env=server.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(3)  # long enough to start and find the doorbell taken
            assert second.poll() is None
            os.kill(process, signal.SIGKILL)  # gunicorn does not restart it
            assert eventually(lambda: not alive(process))
            assert eventually(lambda: doorbell.ring(bell))  # the second one answers now
            post_delivery(server, "srq_by_the_second")
            assert eventually(lambda: applied_count(server.database_url) == 2)
        finally:
            second.terminate()
            _, errors = second.communicate(timeout=30)
        assert second.returncode == 0
        assert "waiting: another applier process serves this database" in errors

        # With no applier process at all, the workers apply what they store themselves.
        assert not doorbell.ring(bell)
        post_delivery(server, "srq_by_a_worker")
        assert eventually(lambda: applied_count(server.database_url) == 3)
    assert not alive(process)


def test_the_applier_process_ends_with_the_server_even_when_the_master_is_killed(tmp_path):
    with running_server(tmp_path, workers=1, threads=4) as server:
        [process] = eventually(lambda: applier_pids(server.process.pid))
        os.kill(server.process.pid, signal.SIGKILL)  # the master alone, no graceful stop
        server.process.wait(timeout=10)
        started = time.monotonic()
        assert eventually(lambda: not alive(process), timeout=10)
        assert time.monotonic() - started < 5  # it looks for its parent every second
