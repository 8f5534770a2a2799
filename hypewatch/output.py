"""Writing a command's output to a file whole: never a half-written file in its place."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO


def write_output(output: Path | None, write: Callable[[IO[str]], int]) -> int:
    """`write` to standard output, or to the file `output` written whole (`write_whole`)."""
    return write(sys.stdout) if output is None else write_whole(output, write)


def write_whole(output: Path, write: Callable[[IO[str]], int]) -> int:
    """Call `write(stream)` on a hidden file beside `output`, then move it into place; return what
    `write` returned (a count). On any error the partial file is removed and `output` is untouched."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            count = write(stream)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return count
