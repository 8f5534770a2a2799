"""Who owns a record: the host and process id of the process that wrote it, and whether that process
still exists.

A crawl run (`storage.runs`) and the scheduler lock (`storage.locks`) record their owner this way, so
that whoever comes next can tell a record whose process died from one still being worked on. Only a
process of this host can be looked up; an owner on another host is judged by its heartbeat.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int

    @classmethod
    def this_process(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid())

    @property
    def is_here(self) -> bool:
        """The owner ran on this host, so `process_alive` can answer for it."""
        return self.host == socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether process `pid` of this host exists (and is not a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A killed process stays in the table until its parent reaps it; it runs nothing any more.
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):  # no /proc (not Linux): signal 0 is all we know
        return False
