"""gunicorn.conf.py's worker hooks, run as gunicorn runs them: in a forked worker."""

from __future__ import annotations

import gc
import os
import runpy
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
    _, wait_status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(wait_status) == 0
