"""The model registry and the corpus helpers the model needs (unknown labels, analysts' documents)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import skops.io as sio

from classifier.corpus import Corpus, analyst_document, load_corpus
from classifier.errors import CorpusError, ModelFileError
from classifier.model import HypeModel
from classifier.registry import MODEL_TYPES, ModelRegistry, code_version, recipe_version
from classifier.signals import COUNTER_SIGNALS, SIGNALS
from hypewatch.settings import PROJECT_ROOT

TEXT = ("Our clinic in Panama treats multiple sclerosis with umbilical cord stem cells. "
        "Patients walk again. Book your consultation now; the package costs $19,000.")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(PROJECT_ROOT / "seeds")


def rehash(registry: ModelRegistry, version: str) -> None:
    """Rewrite the manifest's hash to match the model file, as anyone who can write the directory can."""
    manifest = registry.model_dir / f"{version}.json"
    digest = hashlib.sha256((registry.model_dir / f"{version}.skops").read_bytes()).hexdigest()
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "sha256": digest}))


def plant_call(model_dir: Path, function: str, source: str) -> None:
    """Graft a call of `function` (e.g. `builtins.exec`) on `source` into the current model file.

    The call becomes one more attribute of the HypeModel, in the form skops writes for an object
    rebuilt from its constructor (`ConstructorFromReduceNode`), so the file stays a working model;
    the manifest's hash is then rewritten to match.
    """
    registry = ModelRegistry(model_dir)
    version = registry.current_version()
    path = model_dir / f"{version}.skops"
    with zipfile.ZipFile(path) as original:
        members = {name: original.read(name) for name in original.namelist()}
    schema = json.loads(members["schema.json"])
    module, name = function.rsplit(".", 1)
    argument = {"__class__": "str", "__module__": "builtins", "__loader__": "JsonNode",
                "content": json.dumps(source), "is_json": True}
    call = {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
            "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode",
                        "content": [argument]}}
    attributes = schema["content"]
    attributes["content"]["planted"] = call
    keys = attributes["key_types"]["content"]
    keys.append(keys[0])  # skops pairs each key with its type; a key without one is never built
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as planted:
        for member, data in members.items():
            planted.writestr(member, data)
    rehash(registry, version)


def touch_source(marker: Path) -> str:
    """Python that creates `marker`: an expression, so both `exec` and `eval` run it."""
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


def test_the_registry_round_trip_gives_the_same_scores(model_dir, tmp_path, corpus):
    registry = ModelRegistry(model_dir)
    version = registry.current_version()
    model, info = registry.load()
    assert isinstance(model, HypeModel)
    assert model.version_ == info.version == version
    assert info.documents == len(corpus)
    assert info.training_seconds > 0 and info.created_at
    assert info.code_version == code_version()
    assert set(info.metrics["training_cv_f1"]) == {"relevant", *SIGNALS, *COUNTER_SIGNALS}
    assert info.params["signals__C_stack"] == model.get_params()["signals__C_stack"]
    # The version is a hash of corpus, code and parameters: the same recipe gives the same version.
    assert recipe_version(corpus) == version
    assert recipe_version(corpus, C_stack=0.123) != version
    again, _ = ModelRegistry(model_dir).load(version)
    assert again.score(TEXT).to_dict() == model.score(TEXT).to_dict()
    assert [i.version for i in registry.versions()] == [version]


def test_model_files_hold_only_trusted_types(model_dir):
    registry = ModelRegistry(model_dir)
    path = model_dir / f"{registry.current_version()}.skops"
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= MODEL_TYPES, untrusted
    assert not any("dict" in t and "classifier" in t for t in untrusted)
    # The allow-list names types, never a whole module: no function of builtins, os or the like.
    assert not {"builtins.exec", "builtins.eval", "builtins.getattr", "os.system", "posix.system"} & MODEL_TYPES
    assert all(t.count(".") >= 1 and not t.endswith(".*") for t in MODEL_TYPES)


@pytest.mark.parametrize("function", ["builtins.exec", "builtins.eval"])
def test_a_model_file_that_would_run_code_is_refused_and_runs_nothing(model_dir, tmp_path, function):
    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    marker = tmp_path / "payload-ran"
    plant_call(copy, function, touch_source(marker))
    registry = ModelRegistry(copy)
    with pytest.raises(ModelFileError, match=f"holds types outside the allow-list: {function}") as refused:
        registry.load()
    assert "\n" not in str(refused.value)
    assert not marker.exists()
    # The payload is live: trusting what skops reports, as the old check did, runs it.
    path = copy / f"{registry.current_version()}.skops"
    sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert marker.exists()


@pytest.mark.parametrize("damage", ["not a zip", "truncated", "no schema", "bad schema"])
def test_a_corrupt_model_file_whose_hash_matches_is_refused_in_one_line(model_dir, tmp_path, damage):
    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    registry = ModelRegistry(copy)
    version = registry.current_version()
    path = copy / f"{version}.skops"
    if damage == "not a zip":
        path.write_bytes(b"this is not a model\n" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        with zipfile.ZipFile(path, "w") as broken:
            broken.writestr("schema.json" if damage == "bad schema" else "other.json", "{\"protocol\": 2, [")
    rehash(registry, version)
    with pytest.raises(ModelFileError, match=re.escape(f"model file {path} cannot be read")) as refused:
        registry.load()
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("change", [
    {"version": "../outside/x"},
    {"version": "hm-../../x"},
    {"version": "hm-000000000000"},  # a plain name, but not the manifest's own
    {"version": 7},
    {"sha256": ["not", "a", "hash"]},
    {"documents": "270"},
    {"documents": True},
    {"training_seconds": "fast"},
    {"params": ["C_stack", 0.5]},
    {"metrics": "good"},
    {"created_at": None},
])
def test_a_manifest_with_a_bad_version_or_field_is_refused_in_one_line(model_dir, tmp_path, change):
    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    registry = ModelRegistry(copy)
    version = registry.current_version()
    manifest = copy / f"{version}.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), **change}))
    for attempt in (lambda: registry.info(version), registry.load):
        with pytest.raises(ModelFileError, match=re.escape(f"model manifest {manifest} ")) as refused:
            attempt()
        assert "\n" not in str(refused.value)
    assert registry.versions() == []


def test_a_model_name_that_is_not_a_version_is_refused(model_dir, tmp_path):
    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    registry = ModelRegistry(copy)
    version = registry.current_version()
    (copy / "current").write_text("Hm-Wrong")
    with pytest.raises(ModelFileError, match="'Hm-Wrong' is not a model version"):
        registry.load()
    with pytest.raises(ModelFileError, match="outside"):
        registry.info("../outside/x")
    assert registry.info(version).version == version


def test_an_altered_model_file_is_refused(model_dir, tmp_path):
    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    registry = ModelRegistry(copy)
    path = copy / f"{registry.current_version()}.skops"
    path.write_bytes(path.read_bytes() + b"tampered")
    with pytest.raises(ModelFileError, match="does not match its recorded hash"):
        registry.load()
    with pytest.raises(ModelFileError, match="outside"):
        registry.info("../../etc/passwd")


def test_update_metrics_keeps_the_rest_of_the_manifest(model_dir, tmp_path):
    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    registry = ModelRegistry(copy)
    version = registry.current_version()
    before = registry.info(version)
    after = registry.update_metrics(version, {**before.metrics, "evaluation": {"macro_f1": 0.9}})
    assert after.metrics["evaluation"] == {"macro_f1": 0.9}
    assert after.sha256 == before.sha256 and after.params == before.params
    assert json.loads((copy / f"{version}.json").read_text())["metrics"]["evaluation"]["macro_f1"] == 0.9
    registry.load()  # the model file itself is untouched


def test_analyst_documents_fill_what_the_guide_implies():
    doc = analyst_document("analyst-v1", TEXT, relevant=None, signals={"cure_claim": True}, hype=None)
    assert doc.relevant and doc.origin == "analyst"
    assert doc.target_vector()[:5] == [1, -1, -1, -1, -1]
    targets = Corpus((doc,)).targets()
    assert targets[0, 0] == 1 and (targets[0, 6:] == -1).all()
    assert Corpus((doc,)).hype[0] == -1

    not_relevant = analyst_document("analyst-v2", TEXT, relevant=False, signals={}, hype=None)
    assert Corpus((not_relevant,)).targets()[0, :6].tolist() == [0, 0, 0, 0, 0, 0]
    assert Corpus((not_relevant,)).hype[0] == 0

    assert analyst_document("analyst-v3", TEXT, relevant=None, signals={}, hype=None) is None
    with pytest.raises(CorpusError):
        analyst_document("analyst-v4", TEXT, relevant=True, signals={}, hype=7)


def test_extended_corpus_changes_the_fingerprint_but_not_the_seeds(corpus):
    doc = analyst_document("analyst-v9", TEXT, relevant=True, signals={"clinic_promotion": True}, hype=3)
    extended = corpus.extended([doc])
    assert len(extended) == len(corpus) + 1
    assert extended.fingerprint() != corpus.fingerprint()
    assert load_corpus(PROJECT_ROOT / "seeds").fingerprint() == corpus.fingerprint()


def test_a_model_file_from_an_older_classifier_is_refused_with_advice(model_dir, tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    info = ModelRegistry(model_dir).info(ModelRegistry(model_dir).current_version())
    stale = HypeModel.__new__(HypeModel)  # what loading v1's HypeModel state into today's class gives
    stale.__dict__.update({"C_sentence": 4.0, "thresholds_": [0.5]})
    registry.save(stale, info)
    with pytest.raises(ModelFileError, match="older classifier.*hypewatch train"):
        registry.load()
