"""Reading model files without skops: the same model skops builds, and nothing but a model's shapes."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from classifier.errors import ModelFileError
from classifier.model_file import MAX_BYTES, MAX_DEPTH, ForeignNode, read_model_file
from classifier.registry import OWN_CLASSES, OWN_TYPES, ModelRegistry
from tests.test_classifier_registry import rehash


def state(obj: object) -> object:
    """An object's whole state as plain, comparable data (arrays as dtype, shape and bytes)."""
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, dict):
        return {key: state(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return (type(obj).__name__, [state(item) for item in obj])
    if hasattr(obj, "__dict__"):
        return (type(obj).__qualname__, state(obj.__dict__))
    return (type(obj).__name__, obj)


def current_file(model_dir: Path) -> Path:
    return model_dir / f"{ModelRegistry(model_dir).current_version()}.skops"


def rewrite(path: Path, change: Callable[[dict, dict[str, bytes]], None]) -> None:
    """Rewrite a model file: `change` edits its parsed schema and its members in place."""
    with zipfile.ZipFile(path) as original:
        members = {name: original.read(name) for name in original.namelist()}
    schema = json.loads(members["schema.json"])
    change(schema, members)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as rewritten:
        for name, data in members.items():
            rewritten.writestr(name, data)


def attributes(schema: dict, owner: str) -> dict:
    """The attribute nodes of the object of class `owner` (e.g. "HypeSignals")."""
    return next(n for n in _nodes(schema)
                if n.get("__class__") == owner and n.get("__loader__") == "ObjectNode")["content"]["content"]


def add(schema: dict, owner: str, name: str, node: dict) -> None:
    """Give the object of class `owner` one more attribute, with its key's type as skops writes it."""
    holder = next(n for n in _nodes(schema) if n.get("__class__") == owner and n.get("__loader__") == "ObjectNode")
    holder["content"]["content"][name] = node
    keys = holder["content"]["key_types"]["content"]
    keys.append(keys[0])


def _nodes(schema: dict) -> list[dict]:
    found, pending = [], [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            found.append(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def an_array(attrs: dict) -> tuple[str, dict]:
    return next((name, node) for name, node in attrs.items() if node.get("__loader__") == "NdArrayNode")


@pytest.fixture
def copy(model_dir, tmp_path) -> Path:
    """A copy of the session's model file."""
    target = tmp_path / "models"
    shutil.copytree(model_dir, target)
    return current_file(target)


def test_the_reader_builds_what_skops_builds(model_dir):
    path = current_file(model_dir)
    ours = read_model_file(path, OWN_CLASSES)
    theirs = sio.load(path, trusted=sorted(OWN_TYPES))
    assert state(ours) == state(theirs)
    steps = ours.named_steps  # type: ignore[attr-defined]
    assert steps["signals"].sentence_coef_.flags.writeable  # arrays are the program's own, as skops gives them


def same_array_twice(schema: dict, members: dict[str, bytes]) -> None:
    _, node = an_array(attributes(schema, "HypeSignals"))
    add(schema, "HypeSignals", "again", {**node, "__id__": 1})


def deep(schema: dict, members: dict[str, bytes]) -> None:
    node: dict = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": "1",
                  "is_json": True}
    for _ in range(MAX_DEPTH + 1):
        node = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": [node]}
    add(schema, "HypeSignals", "deep", node)


def header_larger_than_data(schema: dict, members: dict[str, bytes]) -> None:
    _, node = an_array(attributes(schema, "HypeSignals"))
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    members[node["file"]] = buffer.getvalue() + b"\0" * 64


def int_keys(schema: dict, members: dict[str, bytes]) -> None:
    text = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode", "content": "\"x\"", "is_json": True}
    add(schema, "HypeSignals", "counts", {
        "__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "content": {"1": text},
        "key_types": {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode", "content": [text]}})


def other_protocol(schema: dict, members: dict[str, bytes]) -> None:
    schema["protocol"] = 99


@pytest.mark.parametrize(("damage", "reason"), [
    (same_array_twice, "is named twice"),  # one 4 MB array named by 100,000 nodes would be 400 GB
    (deep, "nested deeper than"),
    (header_larger_than_data, "is not the size its header declares"),  # not a 8 TB allocation
    (int_keys, "without the type str for each key"),
    (other_protocol, "schema protocol 99"),
])
def test_a_file_outside_the_shapes_of_a_model_is_not_read(copy, damage, reason):
    rewrite(copy, damage)
    with pytest.raises(ValueError, match=reason):
        read_model_file(copy, OWN_CLASSES)


def dict_by_constructor(schema: dict, members: dict[str, bytes]) -> None:
    """An allowed type (dict) under a loader that calls it: skops's `ConstructorFromReduceNode`."""
    add(schema, "HypeSignals", "called", {
        "__class__": "dict", "__module__": "builtins", "__loader__": "ConstructorFromReduceNode",
        "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": []}})


def object_array(schema: dict, members: dict[str, bytes]) -> None:
    """An array of Python objects, which skops stores item by item as JSON."""
    _, node = an_array(attributes(schema, "HypeSignals"))
    node.update({"type": "json", "content": [], "shape": {"__class__": "tuple", "__module__": "builtins",
                                                          "__loader__": "TupleNode", "content": []}})


def list_as_object(schema: dict, members: dict[str, bytes]) -> None:
    """An allowed type rebuilt as an object: `__new__` and `__setstate__` of a class not of ours."""
    add(schema, "HypeSignals", "odd", {"__class__": "list", "__module__": "builtins", "__loader__": "ObjectNode"})


@pytest.mark.parametrize("plant", [dict_by_constructor, object_array, list_as_object])
def test_an_allowed_type_built_another_way_is_refused_in_one_line(copy, plant):
    rewrite(copy, plant)
    with pytest.raises(ForeignNode):
        read_model_file(copy, OWN_CLASSES)
    registry = ModelRegistry(copy.parent)
    rehash(registry, copy.stem)
    with pytest.raises(ModelFileError, match=re.escape(f"model file {copy} holds types outside the allow-list: ")) as refused:
        registry.load()
    assert "\n" not in str(refused.value)


def test_a_member_declaring_more_than_the_cap_is_refused_before_it_is_read(copy):
    """The sizes in the zip's directory are checked before a byte is decompressed."""
    data = copy.read_bytes()
    entry = data.index(b"PK\x01\x02")  # the first central directory entry; its uncompressed size is at +24
    huge = struct.pack("<I", min(MAX_BYTES + 1, 0xFFFFFFFE))
    copy.write_bytes(data[:entry + 24] + huge + data[entry + 28:])
    with pytest.raises(ValueError, match="more than"):
        read_model_file(copy, OWN_CLASSES)
    registry = ModelRegistry(copy.parent)
    rehash(registry, copy.stem)
    with pytest.raises(ModelFileError, match=re.escape(f"model file {copy} cannot be read")):
        registry.load()
