"""Run a command and write its own peak resident memory, for `run_cli_measured` (tests/conftest.py).

    python -m tests.peak_rss REPORT_FILE COMMAND [ARGS...]

Linux counts into a program's ru_maxrss the memory of the process it was started from (exec keeps
the old address space's high-water mark), so a command started straight from a test process that
holds hundreds of MB reports those too. Started from this small process instead, the command
carries at most this process's few MB. The command's exit code is passed on; REPORT_FILE gets
its ru_maxrss in KiB (the largest of it and its own child processes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def main(report: str, command: list[str]) -> int:
    child = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: child.kill())
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    Path(report).write_text(str(usage.ru_maxrss), encoding="ascii")
    return child.returncode


if __name__ == "__main__":
    code = main(sys.argv[1], sys.argv[2:])
    if code < 0:  # killed by a signal: die of the same one, as the command did
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)
