"""Update Data runs in a process Dash forks from a serving process whose other threads may hold a module lock
at that instant (a request loading the issue tables holds one for seconds). The child must not inherit it held:
it would wait forever when it prepares the new tables. Each module lock is checked with a real fork."""

from __future__ import annotations

import importlib
import os
import threading

import pytest

LOCKS = [
    ("data.services.dashboard_service", "_loaded_lock"),
    ("data.services.dashboard_service", "_team_lock"),
    ("data.services.metrics_service", "_memo_lock"),
    ("data.services.mapping_service", "_fields_lock"),
    ("data.store.metrics_cache", "_recency_lock"),
    ("data.store.json_store", "_locks_guard"),
    ("data.store.json_store", "_warnings_lock"),
    ("configuration.logging_config", "_secrets_lock"),
]


@pytest.mark.parametrize(("module_name", "lock_name"), LOCKS)
def test_a_lock_held_by_another_thread_at_the_fork_is_free_in_the_child(module_name: str, lock_name: str) -> None:
    module = importlib.import_module(module_name)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with getattr(module, lock_name):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(10)
        pid = os.fork()
        if pid == 0:  # the child: only this thread exists; the holder above is gone
            os._exit(0 if getattr(module, lock_name).acquire(timeout=2) else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, f"{module_name}.{lock_name} stayed held in the child"
    finally:
        release.set()
        holder.join()
