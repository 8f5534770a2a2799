"""What a crawl process and its worker processes use: peak memory and CPU time."""

from __future__ import annotations

import os
import resource


def vmhwm_mb(pid: int | str = "self") -> float | None:
    """A process's peak resident memory in MB, from /proc (None where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program (VmHWM; ru_maxrss would
    include the parent's memory it was forked with)."""
    peak = vmhwm_mb()
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return round(peak, 1)


def cpu_seconds(who: int) -> float:
    """User and system CPU seconds of `who` (resource.RUSAGE_SELF or RUSAGE_CHILDREN)."""
    usage = resource.getrusage(who)
    return round(usage.ru_utime + usage.ru_stime, 3)


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU seconds of a running process, from /proc (None where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
