"""Couriers: a short-lived process of its own for each message, as mail transfer agents send.

`run_courier(work, database)` forks a child (the courier) that runs `work` and leaves; the parent
waits for it and gets back what `work` returned (a small JSON-able dict, through a pipe).

- The courier starts its own session (`os.setsid`): a kill of the parent, or of the parent's
  process group, does not reach it. When the parent dies, the courier finishes its work alone.
- The child inherits the parent's memory, and with it whatever other threads of the parent held
  at the fork (locks, pools, connections): it must only do its work. It drops the parent's pooled
  database connections untouched and opens its own (`Database.after_fork_in_child`), and leaves
  with `os._exit`, running none of the parent's exit handlers. Locks of the parent that the work
  needs are the work's to replace (see `hypewatch.alerting.delivery`); `logging` renews its own
  locks in a child (it registers `os.register_at_fork`), so the courier may log.
- Where `os.fork` does not exist, `run_courier` returns None and the caller works in-process.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from storage.db import Database

logger = logging.getLogger(__name__)

MAX_TOLD = 60_000  # bytes a courier may write back: less than a pipe holds, so it never waits for a reader

_forking = threading.Lock()  # one fork at a time in this process; never needed by a child
_couriers: set[int] = set()  # this process's couriers, from their fork until they are reaped
_parent: int | None = None  # in a courier: the pid of the process that forked it


@dataclass(frozen=True)
class CourierEnd:
    """How a courier ended: what its work returned, or the one-line error it raised, or neither
    when it was killed (or died) before telling."""

    pid: int
    how: str  # "exit code 0", "killed by signal 9"…
    result: dict[str, Any] | None = None
    error: str | None = None


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_courier(work: Callable[[], dict[str, Any]], database: Database, *,
                before_fork: Callable[[], None] | None = None) -> CourierEnd | None:
    """Run `work` in a courier and wait for it; None (nothing run) when this system cannot fork.
    `before_fork` runs in the parent just before the fork, one fork at a time (a warm-up, say)."""
    if not can_fork():
        return None
    with _forking:
        if before_fork is not None:
            before_fork()
        database.before_fork()
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            os.close(read_end)
            os.close(write_end)
            logger.warning("alerts: cannot start a courier process (%s); sending in this process", exc.strerror)
            return None
        if pid == 0:  # the courier
            _courier(work, database, read_end, write_end)
        _couriers.add(pid)
        os.close(write_end)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        _couriers.discard(pid)
    try:
        data = _read_written(read_end)
    finally:
        os.close(read_end)
    code = os.waitstatus_to_exitcode(status)
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    if not data:
        return CourierEnd(pid, how)
    told = json.loads(data)
    return CourierEnd(pid, how, told.get("result"), told.get("error"))


def my_couriers() -> set[int]:
    """The couriers of this process still running (forked and not reaped yet)."""
    return set(_couriers)


def orphaned() -> bool:
    """In a courier: the process that forked it is gone (nobody reads its result)."""
    return _parent is not None and os.getppid() != _parent


def _courier(work: Callable[[], dict[str, Any]], database: Database, read_end: int, write_end: int) -> NoReturn:
    global _parent
    code = 1
    try:
        os.close(read_end)
        _parent = os.getppid()
        os.setsid()  # its own session: a kill of the parent's process group does not reach it
        for signum in (signal.SIGINT, signal.SIGTERM):  # not the parent's handlers: a kill ends a courier
            signal.signal(signum, signal.SIG_DFL)
        _couriers.clear()
        database.after_fork_in_child()
        told: dict[str, Any]
        try:
            told = {"result": work()}
            code = 0
        except Exception as exc:
            told = {"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
            if orphaned():
                logger.warning("alerts: courier %d failed: %s", os.getpid(), told["error"])
        data = json.dumps(told).encode("utf-8")
        if len(data) > MAX_TOLD:
            data = json.dumps({"error": f"the courier's result is too long ({len(data)} bytes)"}).encode("utf-8")
        while data:
            data = data[os.write(write_end, data):]
        database.close()  # the courier's own connections
    finally:
        os._exit(code)


def _read_written(fd: int) -> bytes:
    """What is in the pipe now (the courier has exited): never waits for the pipe's end, which another
    courier forked meanwhile may hold open."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
