"""Trained models on disk: versioned, hashed, and loaded only from the app's model directory.

Each model is `<version>.skops` (written with skops, never pickle) plus `<version>.json`, its
manifest: the file's SHA-256, parameters, metrics, training time and corpus size. `current`
names the model in use. A model directory may be copied between machines, so nothing in it is
trusted: a version must be a plain version name (`hm-` and 12 hex digits) naming a file inside the
directory, a manifest must have every field of the right type and name its own version, the
file's hash must match the manifest, and the file may name only the types in `MODEL_TYPES` before
anything is built. Files are written with skops and read with `classifier.model_file`, which builds
only those types, without importing skops. Whatever fails is one `ModelFileError` line, never a traceback.

A version is a hash of the corpus, the classifier's code and the parameters, so the same inputs
always give the same version and any change gives a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import zipfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from classifier.corpus import Corpus, near_duplicate_groups
from classifier.errors import ModelFileError
from classifier.features import TextFeaturizer
from classifier.model import HypeModel, HypeSignals, make_model, model_params
from classifier.model_file import MAX_BYTES, ForeignNode, read_model_file, read_schema

logger = logging.getLogger(__name__)

# What a model file may hold, type by type: exactly what skops writes for a `HypeModel`. A file
# naming anything else (a function such as `builtins.exec` to call, or any type skops trusts by
# default that a `HypeModel` never holds) is refused before a thing is built; then the reader
# (`model_file`) checks each node's loader too, and rebuilds objects only of our own classes. No
# module is trusted whole.
OWN_CLASSES: dict[str, type[object]] = {f"{cls.__module__}.{cls.__qualname__}": cls
                                        for cls in (TextFeaturizer, HypeModel, HypeSignals)}
OWN_TYPES = frozenset(OWN_CLASSES)
MODEL_TYPES = OWN_TYPES | {"builtins.dict", "builtins.list", "builtins.str", "builtins.tuple", "numpy.ndarray"}

VERSION_NAME = re.compile(r"hm-[0-9a-f]{12}")  # what `model_version` gives
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CURRENT_FILE = "current"
PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class ModelInfo:
    version: str
    sha256: str
    created_at: str
    training_seconds: float
    documents: int
    corpus_fingerprint: str
    code_version: str
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


# The JSON types a manifest's fields may have (bool is refused where a number is due).
MANIFEST_FIELDS: dict[str, tuple[type, ...]] = {
    "version": (str,), "sha256": (str,), "created_at": (str,), "training_seconds": (int, float),
    "documents": (int,), "corpus_fingerprint": (str,), "code_version": (str,), "params": (dict,),
    "metrics": (dict,),
}


def code_version() -> str:
    """A hash of the classifier package's source: any change to how models are built changes it."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def model_version(corpus_fingerprint: str, params: dict[str, Any]) -> str:
    payload = json.dumps({"corpus": corpus_fingerprint, "code": code_version(), "params": params},
                         sort_keys=True, default=str)
    return "hm-" + hashlib.sha256(payload.encode()).hexdigest()[:12]


def recipe_version(corpus: Corpus, **params: Any) -> str:
    """The version `train(corpus, **params)` would give, without training."""
    return model_version(corpus.fingerprint(), model_params(make_model(**params)))


def train(corpus: Corpus, **params: Any) -> tuple[HypeModel, ModelInfo]:
    """Fit a `HypeModel` on the whole corpus and describe it.

    `params` are model parameters, plain (`C_stack=0.5`) or by step (`signals__C_stack=0.5`).
    The manifest's metrics start as the cross-validated F1 the training itself measured (on the
    cross-fitted scores it chose thresholds with); `hypewatch evaluate` adds the full evaluation.
    """
    model = make_model(**params)
    effective = model_params(model)
    fingerprint = corpus.fingerprint()
    version = model_version(fingerprint, effective)
    started = time.perf_counter()
    model.fit_corpus(corpus.texts, corpus.targets(), evidence=corpus.evidence, hype=corpus.hype,
                     groups=near_duplicate_groups(corpus), origins=[d.origin for d in corpus.documents])
    seconds = time.perf_counter() - started
    model.version_ = version
    info = ModelInfo(
        version=version,
        sha256="",
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        training_seconds=round(seconds, 2),
        documents=len(corpus),
        corpus_fingerprint=fingerprint,
        code_version=code_version(),
        params=effective,
        metrics={"training_cv_f1": model.named_steps["signals"].cv_scores_},
    )
    logger.info("trained %s on %d documents in %.1f s", version, len(corpus), seconds)
    return model, info


class ModelRegistry:
    """The model files in one directory (the app's own: `HYPEWATCH_HOME/models`)."""

    def __init__(self, model_dir: Path):
        self.model_dir = Path(model_dir).resolve()

    def save(self, model: HypeModel, info: ModelInfo, *, make_current: bool = True) -> ModelInfo:
        self.model_dir.mkdir(parents=True, exist_ok=True)
        model_path = self._path(info.version, ".skops")
        self._atomic_write(model_path, lambda f: _skops().dump(model, f))
        info = ModelInfo(**{**asdict(info), "sha256": _sha256(model_path)})
        self._atomic_write(self._path(info.version, ".json"),
                           lambda f: f.write(json.dumps(asdict(info), indent=2, sort_keys=True).encode()))
        if make_current:
            self._atomic_write(self.model_dir / CURRENT_FILE, lambda f: f.write(info.version.encode()))
        return info

    def current_version(self) -> str | None:
        try:
            return (self.model_dir / CURRENT_FILE).read_text().strip() or None
        except FileNotFoundError:
            return None

    def info(self, version: str) -> ModelInfo:
        path = self._path(version, ".json")
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ModelFileError(f"no model {version!r} in {self.model_dir}") from None
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"model manifest {path} is unreadable: {_one_line(exc)}") from None
        problem = _manifest_problem(raw, version)
        if problem:
            raise ModelFileError(f"model manifest {path} {problem}")
        return ModelInfo(**raw)

    def versions(self) -> list[ModelInfo]:
        infos = []
        for path in sorted(self.model_dir.glob("*.json")):
            try:
                infos.append(self.info(path.stem))
            except ModelFileError:
                logger.warning("skipping unreadable manifest %s", path)
        return sorted(infos, key=lambda i: i.created_at)

    def load(self, version: str | None = None) -> tuple[HypeModel, ModelInfo]:
        version = version or self.current_version()
        if version is None:
            raise ModelFileError(f"no current model in {self.model_dir}")
        info = self.info(version)
        path = self._path(version, ".skops")
        if not path.is_file():
            raise ModelFileError(f"model file {path} is missing")
        if path.stat().st_size > MAX_BYTES:
            raise ModelFileError(f"model file {path} is larger than {MAX_BYTES >> 20} MiB; refusing to load it")
        actual = _sha256(path)
        if actual != info.sha256:
            raise ModelFileError(f"model file {path} does not match its recorded hash; refusing to load it")
        model = _read_model_file(path)
        if not isinstance(model, HypeModel):
            raise ModelFileError(f"model file {path} does not hold a HypeModel")
        if not hasattr(model, "steps") or not hasattr(model.named_steps.get("signals"), "stack_coef_"):
            raise ModelFileError(f"model file {path} was written by an older classifier; "
                                 "train a new model with `hypewatch train`")
        model.version_ = info.version
        return model, info

    def update_metrics(self, version: str, metrics: dict[str, Any]) -> ModelInfo:
        info = ModelInfo(**{**asdict(self.info(version)), "metrics": metrics})
        self._atomic_write(self._path(version, ".json"),
                           lambda f: f.write(json.dumps(asdict(info), indent=2, sort_keys=True).encode()))
        return info

    def _path(self, version: str, suffix: str) -> Path:
        if not VERSION_NAME.fullmatch(version):
            if Path(version).name != version:  # it has a directory part
                raise ModelFileError(f"refusing model path outside {self.model_dir}: {version!r:.80}")
            raise ModelFileError(f"{version!r:.80} is not a model version (hm- and 12 hex digits)")
        path = (self.model_dir / f"{version}{suffix}").resolve()
        if path.parent != self.model_dir:  # a symbolic link that leads elsewhere
            raise ModelFileError(f"refusing model path outside {self.model_dir}: {version!r}")
        return path

    def _atomic_write(self, path: Path, write) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.model_dir, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _manifest_problem(raw: object, version: str) -> str | None:
    """What is wrong with a parsed manifest, said as the end of a sentence, or None."""
    if not isinstance(raw, dict):
        return f"is not a JSON object but {type(raw).__name__}"
    missing = [f.name for f in fields(ModelInfo)
               if f.name not in raw and f.default is MISSING and f.default_factory is MISSING]
    unknown = sorted(raw.keys() - MANIFEST_FIELDS.keys())
    if missing or unknown:
        return f"has missing fields {missing} and unknown fields {unknown}"
    for name, value in raw.items():
        kinds = MANIFEST_FIELDS[name]
        if isinstance(value, bool) or not isinstance(value, kinds):
            expected = " or ".join(kind.__name__ for kind in kinds)
            return f"has {name} of type {type(value).__name__}, where {expected} is due"
    if raw["version"] != version:
        return f"names version {raw['version']!r:.80}, not its own {version!r}"
    if not SHA256_HEX.fullmatch(raw["sha256"]):
        return f"has sha256 {raw['sha256']!r:.80}, which is not a SHA-256 in hex"
    return None


def _read_model_file(path: Path) -> object:
    """The object a model file holds, built only once every type it names is in `MODEL_TYPES`."""
    try:
        with zipfile.ZipFile(path) as archive:
            schema = read_schema(archive)
        foreign = sorted(_types_named(schema) - MODEL_TYPES)
        if not foreign:
            # The reader checks every node again, loader and type, before it builds it.
            return read_model_file(path, OWN_CLASSES)
    except ForeignNode as exc:
        foreign = [str(exc)]
    except Exception as exc:
        # The file's hash matched, so it was written by whoever can write the model directory: a
        # crafted or damaged file can fail anywhere in zipfile, json or numpy, and each of those
        # failures means the same thing to the user.
        logger.debug("model file %s cannot be read", path, exc_info=True)
        raise ModelFileError(f"model file {path} cannot be read ({_one_line(exc)}); "
                             "train a new model with `hypewatch train`") from None
    raise ModelFileError(f"model file {path} holds types outside the allow-list: {', '.join(foreign[:5])}; "
                         "refusing to load it")


def _types_named(schema: object) -> set[str]:
    """Every `module.class` a skops schema names: each node skops builds is a JSON object naming one."""
    names: set[str] = set()
    pending = [schema]
    while pending:  # a loop, not recursion: a crafted schema may nest deeper than the stack
        node = pending.pop()
        if isinstance(node, dict):
            if "__module__" in node or "__class__" in node:
                names.add(f"{node.get('__module__')}.{node.get('__class__')}")
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return names


def _one_line(exc: BaseException) -> str:
    """An exception as one short line: its type and the start of its message."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message[:160]}" if message else type(exc).__name__


def _skops():
    """skops.io, imported on first use to write a model: it takes about half a second."""
    import skops.io

    return skops.io


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
