"""The model registry and the corpus helpers the model needs (unknown labels, analysts' documents)."""

from __future__ import annotations

import json
import shutil

import pytest
import skops.io as sio

from classifier.corpus import Corpus, analyst_document, load_corpus
from classifier.errors import CorpusError, ModelFileError
from classifier.model import HypeModel
from classifier.registry import TRUSTED_MODULE_ROOTS, ModelRegistry, code_version, recipe_version
from classifier.signals import COUNTER_SIGNALS, SIGNALS
from hypewatch.settings import PROJECT_ROOT

TEXT = ("Our clinic in Panama treats multiple sclerosis with umbilical cord stem cells. "
        "Patients walk again. Book your consultation now; the package costs $19,000.")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return load_corpus(PROJECT_ROOT / "seeds")


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
    assert all(t.split(".", 1)[0] in TRUSTED_MODULE_ROOTS for t in untrusted), untrusted
    assert not any("dict" in t and "classifier" in t for t in untrusted)


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
