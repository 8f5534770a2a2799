"""Reading local input safely: a size cap on every read, and regular files only.

A FIFO, a device or an endless standard input must not hang a command or fill memory: files are
checked to be regular before they are opened, and every read stops one byte past the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024


class InputError(ValueError):
    """The input cannot be read within the rules above (the message says why, in a few words)."""


def megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


def read_capped(stream: BinaryIO, limit: int) -> bytes:
    """Everything `stream` holds, or InputError once it holds more than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(CHUNK_BYTES, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise InputError(f"larger than the {megabytes(limit)} limit")
    return b"".join(chunks)


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, or InputError (missing, not a regular file, too large)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError("no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError("is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputError("not a regular file (a pipe, device or socket is not read)")
    if info.st_size > limit:
        raise InputError(f"file larger than the {megabytes(limit)} limit")
    try:
        with open(path, "rb") as handle:
            return read_capped(handle, limit)  # the file may have grown since it was measured
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}") from None
