"""gunicorn.conf.py's worker hooks, run as gunicorn runs them: in a forked worker."""

from __future__ import annotations

import gc
import os
import runpy
import signal
import time
from pathlib import Path
from types import SimpleNamespace

CONFIG = Path(__file__).resolve().parents[1] / "gunicorn.conf.py"


def test_a_worker_freezes_what_it_loaded_so_full_collections_skip_it():
    hooks = runpy.run_path(str(CONFIG))
    pid = os.fork()
    if pid == 0:  # the worker: report through the exit status only
        status = 1
        try:
            gc.unfreeze()  # whatever the test process froze is not this hook's doing
            loaded = len(gc.get_objects())
            # Not a Flask app: no applier or outbox thread, only what every worker gets.
            hooks["post_worker_init"](SimpleNamespace(wsgi=object()))
            frozen = gc.get_freeze_count()
            status = 0 if frozen >= loaded and len(gc.get_objects()) < loaded // 10 else 2
        finally:
            os._exit(status)
    deadline = time.monotonic() + 60
    while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if ended[0] == 0:  # a forked child stuck on a lock another thread held: fail, not hang
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert ended[0] == pid and os.waitstatus_to_exitcode(ended[1]) == 0
