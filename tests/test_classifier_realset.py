"""classifier.realset and `hypewatch evaluate --real`, on a small real-set layout written for the test.

The excerpts below are made up for the test (the real set's texts are third-party and never
committed); the layout, hashes, split and commands are the real ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from classifier.realset import RealSetError, agreement, load_real_set, split_of, text_hash
from tests.conftest import SEEDS_DIR

EXCERPTS = [
    ("clinic-one.example", "Stem cell treatment for multiple sclerosis at our clinic in Cancun reverses MS. Packages "
     "start at $14,000 and there are no side effects. Book your free consultation today.",
     {"relevant": True, "signals": ["cure_claim", "clinic_promotion", "missing_trial_reference",
                                    "risk_minimisation"], "hype": 3, "genre": "clinic", "lang": "en"}),
    ("news-one.example", "In the MIST trial, published in JAMA, aHSCT slowed disability in relapsing multiple "
     "sclerosis compared with drug therapy. The treatment carries serious risks, including infection and death.",
     {"relevant": True, "signals": [], "hype": 0, "genre": "news", "lang": "en"}),
    ("diet-one.example", "Ten foods to eat with multiple sclerosis: oily fish, leafy greens and whole grains. "
     "A balanced diet helps with fatigue, according to our dietitian, who answers readers' questions below.",
     {"relevant": False, "signals": [], "hype": 0, "genre": "blog", "lang": "en"}),
    ("knee-one.example", "Our stem cell knee injections relieve arthritis pain without surgery. Most patients "
     "return to sport within weeks. Call today to book your knee consultation.",
     {"relevant": False, "signals": [], "hype": 0, "genre": "clinic", "lang": "en"}),
    ("blog-one.example", "Day 200 after HSCT in Moscow: I have had no relapses since my treatment and I walk "
     "without my cane. Stem cells gave me my life back and I tell every MS patient to go.",
     {"relevant": True, "signals": ["cure_claim", "testimonial", "missing_trial_reference", "risk_minimisation"],
      "hype": 3, "genre": "blog", "lang": "en"}),
    ("klinik-one.example", "Stammzelltherapie bei Multipler Sklerose: Unsere Klinik bietet Behandlungen mit "
     "Stammzellen aus Nabelschnurgewebe an. Vereinbaren Sie jetzt einen Termin für ein Beratungsgespräch.",
     {"relevant": True, "signals": ["clinic_promotion", "risk_minimisation"], "hype": 2, "genre": "clinic",
      "lang": "de"}),
]


def write_real_set(root: Path) -> Path:
    """A seeds directory: the project's corpus plus a real/ set of the excerpts above."""
    seeds = root / "seeds"
    seeds.mkdir()
    (seeds / "docs").symlink_to(SEEDS_DIR / "docs")
    (seeds / "labels.jsonl").symlink_to(SEEDS_DIR / "labels.jsonl")
    real = seeds / "real"
    (real / "texts").mkdir(parents=True)
    (real / "annotations").mkdir()
    pages, labels, first, second = [], [], [], []
    for n, (site, text, label) in enumerate(EXCERPTS):
        page_id = f"r{n:010d}"
        (real / "texts" / f"{page_id}.txt").write_text(text + "\n", encoding="utf-8")
        pages.append({"id": page_id, "url": f"https://{site}/page", "site": site, "query": "test",
                      "sha256": text_hash(text)})
        labels.append({"id": page_id, **label, "split": "test"})
        first.append({"id": page_id, **label})
        # The second annotator disagrees on one page's relevance.
        second.append({"id": page_id, **(label if n != 2 else {**label, "relevant": True, "hype": 1})})
    for name, rows in (("pages.jsonl", pages), ("labels.jsonl", labels), ("annotations/a.jsonl", first),
                       ("annotations/b.jsonl", second)):
        (real / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return seeds


@pytest.fixture
def real_seeds(tmp_path) -> Path:
    return write_real_set(tmp_path)


def test_the_real_set_loads_with_its_labels_and_sites(real_seeds):
    real = load_real_set(real_seeds / "real", "test")
    assert len(real.pages) == len(EXCERPTS) and real.sites == len(EXCERPTS) and not real.missing
    corpus = real.corpus()
    assert [d.relevant for d in corpus.documents] == [e[2]["relevant"] for e in EXCERPTS]
    # Counter-signals are not labelled on real pages: they are unknown, not "no".
    assert (corpus.targets()[:, 6:] == -1).all()
    with pytest.raises(RealSetError, match="no labelled real pages in the tuning part"):
        load_real_set(real_seeds / "real", "tuning")


def test_a_missing_or_altered_text_is_named_and_says_how_to_recollect(real_seeds):
    (real_seeds / "real" / "texts" / "r0000000001.txt").unlink()
    (real_seeds / "real" / "texts" / "r0000000002.txt").write_text("something else entirely", encoding="utf-8")
    with pytest.raises(RealSetError, match=r"2 of 6 real-page texts are missing or altered .* re-collect"):
        load_real_set(real_seeds / "real", "test")
    partial = load_real_set(real_seeds / "real", "test", require_texts=False)
    assert partial.missing == ("r0000000001", "r0000000002") and len(partial.pages) == 4


def test_the_split_follows_the_site_and_never_changes():
    sites = [f"site{n}.example" for n in range(400)]
    parts = [split_of(site) for site in sites]
    assert parts == [split_of(site) for site in sites]
    assert 0.3 < parts.count("test") / len(parts) < 0.5


def test_agreement_gives_kappa_per_field(real_seeds):
    figures = agreement(real_seeds / "real")
    assert set(figures) == {"relevant", "cure_claim", "clinic_promotion", "missing_trial_reference",
                            "testimonial", "risk_minimisation", "hype"}
    assert figures["cure_claim"]["kappa"] == 1.0 and figures["relevant"]["kappa"] < 1.0
    assert figures["relevant"]["agreement"] == pytest.approx(5 / 6, abs=1e-3)


def test_evaluate_real_reports_model_keyword_and_dummy_by_genre_and_language(run_cli, real_seeds):
    env = {"HYPEWATCH_SEEDS": str(real_seeds)}
    result = run_cli("evaluate", "--real", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_pages"] == 6 and report["part"] == "test"
    for system in ("model", "keyword", "dummy"):
        figures = report["systems"][system]
        assert set(figures["signals"]["cure_claim"]) >= {"f1", "precision", "recall", "roc_auc"}
        assert {"macro_f1", "hype_spearman", "relevance"} <= set(figures)
    assert set(report["by_language"]) == {"en", "de"} and set(report["by_genre"]) == {"clinic", "news", "blog"}
    assert report["agreement"]["relevant"]["n"] == 6
    table = run_cli("evaluate", "--real", env=env)
    assert table.exit_code == 0 and "6 real pages from 6 sites" in table.stdout and "kappa" in table.stdout


def test_evaluate_real_without_texts_is_one_clear_line(run_cli, real_seeds):
    for path in (real_seeds / "real" / "texts").iterdir():
        os.remove(path)
    result = run_cli("evaluate", "--real", env={"HYPEWATCH_SEEDS": str(real_seeds)})
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "6 of 6 real-page texts are missing" in result.stderr and "README.md" in result.stderr


def test_evaluate_real_can_leave_out_pages_whose_texts_are_gone(run_cli, real_seeds):
    (real_seeds / "real" / "texts" / "r0000000001.txt").unlink()  # the stored page changed, say
    env = {"HYPEWATCH_SEEDS": str(real_seeds)}
    assert run_cli("evaluate", "--real", env=env).exit_code == 2
    result = run_cli("evaluate", "--real", "--allow-missing", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_pages"] == 5 and report["missing"] == ["r0000000001"]
    table = run_cli("evaluate", "--real", "--allow-missing", env=env)
    assert "1 page(s) of the test part left out" in table.stdout and "r0000000001" in table.stdout
