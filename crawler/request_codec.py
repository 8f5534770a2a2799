"""How requests are written into the shared Redis queue: JSON, not pickle.

scrapy-redis pickles requests by default, and unpickling runs whatever the data says, so anyone
able to write to Redis could run code on every worker. JSON cannot; bytes (bodies, headers) are
kept as base64. This module is the queue's serializer (scrapy-redis's SCHEDULER_SERIALIZER names a
module with `dumps` and `loads`).
"""

from __future__ import annotations

import base64
import json
from typing import Any

_BYTES = "$bytes"
_PAIRS = "$pairs"  # a dict whose keys are not all plain strings (headers have bytes keys)


def dumps(request_dict: dict[str, Any]) -> bytes:
    """A `Request.to_dict()` as JSON bytes; TypeError for a value JSON cannot carry."""
    return json.dumps(_encode(request_dict), separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> dict[str, Any]:
    return _decode(json.loads(data))


def _encode(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {_BYTES: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) and k not in (_BYTES, _PAIRS) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {_PAIRS: [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} into the shared request queue: {value!r}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if _BYTES in value:
            return base64.b64decode(value[_BYTES])
        if _PAIRS in value:
            return {_decode(k): _decode(v) for k, v in value[_PAIRS]}
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
