"""A crawl process stops when the process that started it dies.

`hypewatch crawl`, the scheduler and `hypewatch worker` start each crawl process in a session of
its own (so a terminal's Ctrl-C reaches only them) and stop it themselves; but when they are
killed outright (`kill -9`, the OOM killer) nobody is left to stop it, to read its progress or
to record its run. They put their pid in HYPEWATCH_CRAWL_PARENT_PID; `watch_parent` starts a
thread that notices when this process's parent is no longer that pid (it was reparented: its
parent is gone) and then stops the crawl as SIGTERM does, cleanly: Scrapy finishes the requests
in flight and the pipelines flush what they hold. If that has not ended the process after
`grace_seconds` (a request hanging until its download timeout, say), a second SIGTERM makes
Scrapy stop at once.

Polling `os.getppid()` rather than Linux's PR_SET_PDEATHSIG: the parent-death signal follows
the *thread* that started the child, and our parents start crawls from worker threads.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

logger = logging.getLogger(__name__)

PARENT_PID_VARIABLE = "HYPEWATCH_CRAWL_PARENT_PID"
POLL_SECONDS = 0.5
GRACE_SECONDS = 10.0


def expected_parent(environ: dict[str, str] | None = None) -> int:
    """The pid our starter gave us, or (started by hand) the parent we have now."""
    value = (os.environ if environ is None else environ).get(PARENT_PID_VARIABLE, "")
    return int(value) if value.isdigit() else os.getppid()


def parent_gone(parent: int) -> bool:
    return os.getppid() != parent


def watch_parent(parent: int | None = None, *, poll_seconds: float = POLL_SECONDS,
                 grace_seconds: float = GRACE_SECONDS) -> threading.Thread:
    """Start the watcher thread (a daemon: it never keeps the process alive)."""
    parent = expected_parent() if parent is None else parent
    thread = threading.Thread(target=_watch, args=(parent, poll_seconds, grace_seconds),
                              name="hypewatch-parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(parent: int, poll_seconds: float, grace_seconds: float) -> None:
    stopped = threading.Event()
    while not parent_gone(parent):
        stopped.wait(poll_seconds)
    logger.warning("the process that started this crawl (pid %d) is gone; stopping the crawl", parent)
    _silence_stdout()
    os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's handler: a clean stop
    stopped.wait(grace_seconds)
    logger.warning("the crawl did not stop within %.0f s of its parent's death; stopping it now", grace_seconds)
    os.kill(os.getpid(), signal.SIGTERM)  # Scrapy's second-signal handler: stop at once
    stopped.wait(grace_seconds)
    os._exit(1)  # the signal handlers were never installed, or did not end the process


def _silence_stdout() -> None:
    # Nobody reads our progress lines any more: writing them would only raise BrokenPipeError.
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
