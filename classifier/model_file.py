"""Reading a model file: the skops format, for exactly the shapes skops writes a `HypeModel` in.

skops writes model files (`registry.ModelRegistry.save`), and this module reads them back without
importing skops, whose import builds its default trust lists from all of scikit-learn (about half
a second of a cold `hypewatch check`). It reads only what a `HypeModel` is made of and refuses the
rest before building it:

- a skops file is a zip holding `schema.json`, a tree of nodes each naming a loader and a
  `module.class`, and one `.npy` file per NumPy array;
- each node's loader and type must be one of `CONTAINERS` (plain `dict`, `list`, `tuple`, JSON
  scalars, `str` as a dict key type, and NumPy arrays of a fixed dtype), or an object of one of
  the classes the caller names (`classes`), rebuilt as skops does: `cls.__new__` and then
  `__setstate__` or the instance's `__dict__`. Nothing is imported by name and nothing is called
  but those;
- the file is bounded before it is read: at most `MAX_MEMBERS` members, `MAX_BYTES` in all as
  declared and as actually decompressed, each array read once and its header matching its size,
  and a schema at most `MAX_DEPTH` nodes deep.

A node with the same `__id__` as one built before is that same object, as in skops.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from classifier.errors import ModelFileError

PROTOCOL = 2  # skops's schema protocol the reader knows (skops 0.10 and later)
MAX_MEMBERS = 10_000
MAX_BYTES = 1 << 30  # 1 GiB, uncompressed; a model of 50,000 n-grams is about 10 MB
MAX_SCHEMA_BYTES = 64 << 20  # a HypeModel's schema is about 35 KB
MAX_DEPTH = 64
SCHEMA = "schema.json"

# loader -> the one `module.class` it may build (the containers and arrays skops writes).
CONTAINERS = {
    "DictNode": "builtins.dict",
    "ListNode": "builtins.list",
    "TupleNode": "builtins.tuple",
    "JsonNode": "builtins.str",  # skops labels every JSON scalar so
    "TypeNode": "builtins.str",  # only as the type of a dict key
    "NdArrayNode": "numpy.ndarray",
}
OBJECT_LOADER = "ObjectNode"


class ForeignNode(ModelFileError):
    """The file names a type or loader outside what the reader builds."""


def read_model_file(path: Path, classes: Mapping[str, type[object]]) -> object:
    """The object a skops file holds; `classes` maps `module.class` to each class it may rebuild.

    Raises `ForeignNode` for a type or loader outside the allow-list; any other exception means
    the file is damaged (the caller words it).
    """
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ValueError(f"{len(members)} members, more than {MAX_MEMBERS}")
        declared = sum(member.file_size for member in members)
        if declared > MAX_BYTES:
            raise ValueError(f"{declared} bytes uncompressed, more than {MAX_BYTES}")
        schema = read_schema(archive)
        if not isinstance(schema, dict) or schema.get("protocol") != PROTOCOL:
            protocol = schema.get("protocol") if isinstance(schema, dict) else None
            raise ValueError(f"schema protocol {protocol!r:.20}, where {PROTOCOL} is due")
        return _Reader(archive, classes).build(schema, 0)


def read_schema(archive: zipfile.ZipFile) -> object:
    """The parsed `schema.json` of a skops file, refused past `MAX_SCHEMA_BYTES`."""
    return json.loads(_read_member(archive, SCHEMA, MAX_SCHEMA_BYTES))


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """One member's bytes, never read past its declared size nor past `limit`."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ValueError(f"member {name!r:.80} of {info.file_size} bytes, more than {limit}")
    with archive.open(info) as stream:
        data = stream.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ValueError(f"member {name!r:.80} is not the size it declares")
    return data


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, classes: Mapping[str, type[object]]):
        self.archive = archive
        self.classes = classes
        self.built: dict[int, Any] = {}  # __id__ -> the object built for it
        self.building: set[int] = set()
        self.read: set[str] = set()

    def member(self, name: str) -> bytes:
        """An array's member, read at most once."""
        if name in self.read or name == SCHEMA:
            raise ValueError(f"member {name!r:.80} is named twice")
        self.read.add(name)
        return _read_member(self.archive, name, MAX_BYTES)

    def build(self, node: object, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"schema nested deeper than {MAX_DEPTH}")
        if not isinstance(node, dict):
            raise ValueError(f"schema node of type {type(node).__name__}")
        node_id = node.get("__id__")
        if isinstance(node_id, int) and node_id in self.built:
            return self.built[node_id]
        if node_id in self.building:
            raise ValueError("schema node inside itself")
        loader, name = node.get("__loader__"), f"{node.get('__module__')}.{node.get('__class__')}"
        if loader == OBJECT_LOADER and name in self.classes:
            pass
        elif CONTAINERS.get(loader) != name:  # type: ignore[arg-type]
            raise ForeignNode(f"{name:.80} by {loader!r:.40}")
        if isinstance(node_id, int):
            self.building.add(node_id)
        value = getattr(self, f"_{loader}")(node, depth + 1, name)
        if isinstance(node_id, int):
            self.building.discard(node_id)
            self.built[node_id] = value
        return value

    def _ObjectNode(self, node: dict, depth: int, name: str) -> Any:
        cls = self.classes[name]
        instance = object.__new__(cls)
        if node.get("content") is not None:
            attrs = self.build(node["content"], depth)
            if not isinstance(attrs, dict):
                raise ValueError(f"{name} state of type {type(attrs).__name__}")
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(attrs)
            else:
                instance.__dict__.update(attrs)
        return instance

    def _DictNode(self, node: dict, depth: int, name: str) -> dict:
        content, key_types = node["content"], self.build(node["key_types"], depth)
        if not isinstance(content, dict) or key_types != [str] * len(content):
            raise ValueError("dict node without the type str for each key")
        return {key: self.build(value, depth) for key, value in content.items()}

    def _ListNode(self, node: dict, depth: int, name: str) -> list:
        return [self.build(item, depth) for item in _sequence(node)]

    def _TupleNode(self, node: dict, depth: int, name: str) -> tuple:
        return tuple(self.build(item, depth) for item in _sequence(node))

    def _JsonNode(self, node: dict, depth: int, name: str) -> Any:
        if not isinstance(node.get("content"), str):
            raise ValueError("JSON node without JSON text")
        return json.loads(node["content"])

    def _TypeNode(self, node: dict, depth: int, name: str) -> type:
        return str

    def _NdArrayNode(self, node: dict, depth: int, name: str) -> np.ndarray:
        if node.get("type") != "numpy" or not isinstance(node.get("file"), str):
            raise ForeignNode(f"numpy.ndarray stored as {node.get('type')!r:.40}")
        data = io.BytesIO(self.member(node["file"]))
        version = np.lib.format.read_magic(data)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(data)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(data)
        else:
            raise ValueError(f".npy format {version}")
        if dtype.hasobject:
            raise ForeignNode(f"numpy.ndarray of Python objects ({dtype})")
        size = math.prod(shape) * dtype.itemsize
        if size != len(data.getbuffer()) - data.tell():
            raise ValueError(f"array {node['file']!r:.80} is not the size its header declares")
        data.seek(0)
        return np.load(data, allow_pickle=False)


def _sequence(node: dict) -> list:
    content = node.get("content")
    if not isinstance(content, list):
        raise ValueError(f"{node.get('__loader__')} without a list of items")
    return content
