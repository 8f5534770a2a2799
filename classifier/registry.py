"""Trained models on disk: versioned, hashed, and loaded only from the app's model directory.

Each model is `<version>.skops` (written with skops, never pickle) plus `<version>.json`, its
manifest: the file's SHA-256, parameters, metrics, training time and corpus size. `current`
names the model in use. Loading checks that the file lies inside the model directory, that its
hash matches the manifest, and that it holds only types from this project, scikit-learn, NumPy and
SciPy before skops is allowed to build it.

A version is a hash of the corpus, the classifier's code and the parameters, so the same inputs
always give the same version and any change gives a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from classifier.corpus import Corpus, near_duplicate_groups
from classifier.errors import ModelFileError
from classifier.model import HypeModel, make_model, model_params

logger = logging.getLogger(__name__)

TRUSTED_MODULE_ROOTS = ("classifier", "sklearn", "numpy", "scipy", "builtins", "collections")
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
            return ModelInfo(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise ModelFileError(f"no model {version!r} in {self.model_dir}") from None
        except (ValueError, TypeError) as exc:
            raise ModelFileError(f"model manifest {path} is unreadable: {exc}") from None

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
        actual = _sha256(path)
        if actual != info.sha256:
            raise ModelFileError(f"model file {path} does not match its recorded hash; refusing to load it")
        sio = _skops()
        untrusted = sio.get_untrusted_types(file=path)
        foreign = [t for t in untrusted if t.split(".", 1)[0] not in TRUSTED_MODULE_ROOTS]
        if foreign:
            raise ModelFileError(f"model file {path} holds unexpected types: {', '.join(foreign[:5])}")
        model = sio.load(path, trusted=untrusted)
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
        path = (self.model_dir / f"{version}{suffix}").resolve()
        if path.parent != self.model_dir or not version.replace("-", "").isalnum():
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


def _skops():
    """skops.io, imported on first use: it takes about a second, and most commands never load a model."""
    import skops.io

    return skops.io


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
