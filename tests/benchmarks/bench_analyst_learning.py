"""Learning from analysts on real pages: does labelling half the sites lift the other half?

    .venv/bin/python tests/benchmarks/bench_analyst_learning.py [--part tuning|test|all] [--weights 1,3,5]
        [--allow-missing] [--cv-thresholds] [--swap] [--random-state N] [--budgets 25,50,100 [--draws N]]

What an analyst team does, end to end: the real pages of half of the sites (`seeds/real/`, split
by a hash of the site) are stored as crawled pages in a fresh SQLite database and labelled
through the labels table exactly as the dashboard's form stores a label (relevance, every signal
yes/no, hype; no evidence sentences, as most analysts give none). `Hypewatch.train(extra_documents=
app.analyst_documents())` (what `hypewatch train --with-labels` runs) retrains with each analyst
weight, and the other half's pages are scored. Prints one JSON object: the macro-F1, relevance F1
and hype Spearman on the other half before and after, per weight, and the gain.

With `--budgets 25,50,100`, analysts label only that many of the half's pages: the first ones of
the dashboard's review queue (its pages stored and scored, the queue read as the dashboard reads
it), or as many drawn at random (`--draws` draws), with the first of `--weights`; each run labels
into a fresh database. It
says whether the queue's order teaches more per label than chance.

It needs the real set's texts (seeds/real/README.md says how to collect them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from classifier.corpus import Corpus  # noqa: E402
from classifier.evaluation import evaluate_real  # noqa: E402
from classifier.realset import load_real_set  # noqa: E402
from classifier.signals import SIGNALS  # noqa: E402
from hypewatch.app import Hypewatch  # noqa: E402
from hypewatch.settings import Settings  # noqa: E402
from storage.documents import ExtractedDocument  # noqa: E402
from storage.labels import add_label  # noqa: E402
from storage.writes import store_document  # noqa: E402


def half_of(site: str) -> str:
    return "A" if int(hashlib.sha256(f"analysts:{site}".encode()).hexdigest()[:8], 16) % 2 else "B"


def app_at(home: str) -> Hypewatch:
    """The project on a fresh home (its own database and models), trained from seeds/."""
    return Hypewatch(Settings.from_environ({"HYPEWATCH_HOME": home, "HYPEWATCH_SEEDS": str(ROOT / "seeds")}))


def store_pages(app: Hypewatch, pages) -> dict[str, int]:
    """The pages stored as crawled ones: url -> version id."""
    with app.database.session() as session:
        return {page.url: store_document(session, ExtractedDocument(
            url=page.url, domain=page.site, text=page.document.text, title=None, language=page.document.lang,
            fetched_at=dt.datetime.now(dt.UTC))).version_id for page in pages}


def label_through_the_database(app: Hypewatch, pages) -> None:
    versions = store_pages(app, pages)
    with app.database.session() as session:
        for page in pages:
            doc = page.document
            add_label(session, versions[page.url], "analyst", relevant=doc.relevant, hype=doc.hype,
                      **{name: name in doc.signals for name in SIGNALS})


def review_queue_order(app: Hypewatch, pages) -> list:
    """The pages in the order the dashboard's review queue lists them (least sure first)."""
    from dashboard.filters import ArticleFilters
    from dashboard.state import Dashboard, DashboardConfig

    store_pages(app, pages)
    app.rescore()
    board = Dashboard(app.database, DashboardConfig(secret_key=b"bench" * 8))
    with board.session() as session:
        queue = board.reader(session).queue(ArticleFilters(relevance="all"), limit=len(pages))
    by_url = {page.url: page for page in pages}
    return [by_url[row.url] for row, _ in queue]


def budget_runs(args, app: Hypewatch, labelled, other: Corpus, training: Corpus, params: dict,
                before: dict) -> list[dict]:
    """Label `budget` pages of the labelled half, chosen by `app`'s review queue (its model not yet
    taught by any analyst) or at random; retrain; score the other half."""
    runs = []
    queued = review_queue_order(app, labelled)
    weight = float(args.weights.split(",")[0])
    for budget in (int(b) for b in args.budgets.split(",")):
        choices = [("queue", queued[:budget])]
        choices += [(f"random-{draw}", random.Random(draw).sample(labelled, min(budget, len(labelled))))
                    for draw in range(args.draws)]
        for order, chosen in choices:
            with tempfile.TemporaryDirectory() as tmp:
                fresh = app_at(tmp)
                label_through_the_database(fresh, chosen)
                model, _ = fresh.train(extra_documents=fresh.analyst_documents(), analyst_weight=weight, **params)
                after = figures(model, training, other)
            runs.append({"budget": budget, "order": order, **after,
                         "macro_f1_gain": round(after["macro_f1"] - before["macro_f1"], 4)})
            print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    return runs


def figures(model, training: Corpus, other: Corpus) -> dict:
    systems = evaluate_real(model, training, other, part="other half", n_sites=0).systems["model"]
    return {"macro_f1": systems["macro_f1"], "relevance_f1": systems["relevance"]["f1"],
            "hype_spearman": systems["hype_spearman"],
            "f1": {name: systems["signals"][name]["f1"] for name in SIGNALS}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["tuning", "test", "all"], default="tuning")
    parser.add_argument("--weights", default="1,3,5,10")
    parser.add_argument("--allow-missing", action="store_true",
                        help="leave out the pages whose texts could not be re-collected (as evaluate --real does)")
    parser.add_argument("--cv-thresholds", action="store_true",
                        help="flag at cross-validated thresholds, not the shipped ones (chosen on the tuning part)")
    parser.add_argument("--swap", action="store_true", help="label half B and score half A (the other direction)")
    parser.add_argument("--budgets", default=None,
                        help="label only this many pages of the half (comma-separated), by the review queue and at random")
    parser.add_argument("--draws", type=int, default=2, help="random draws per budget (with --budgets)")
    parser.add_argument("--random-state", type=int, default=None,
                        help="the model's random_state (it seeds the folds): the gain moves with it, so try several")
    args = parser.parse_args()
    params: dict = {"thresholds": None} if args.cv_thresholds else {}
    if args.random_state is not None:
        params["random_state"] = args.random_state
    labelled_half = "B" if args.swap else "A"
    real = load_real_set(ROOT / "seeds" / "real", None if args.part == "all" else args.part,
                         require_texts=not args.allow_missing)
    labelled = [p for p in real.pages if half_of(p.site) == labelled_half]
    other = Corpus(tuple(p.document for p in real.pages if half_of(p.site) != labelled_half))
    out: dict = {"part": args.part, "labelled_half": labelled_half, "random_state": args.random_state,
                 "labelled_pages": len(labelled), "other_pages": len(other),
                 "missing_pages": list(real.missing), "cv_thresholds": args.cv_thresholds, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        app = app_at(tmp)
        from classifier.corpus import load_corpus

        training = load_corpus(app.settings.seeds_dir)
        started = time.perf_counter()
        model, _ = app.train(**params)
        out["before"] = figures(model, training, other)
        if args.budgets:
            out["budget_runs"] = budget_runs(args, app, labelled, other, training, params, out["before"])
            out["seconds"] = round(time.perf_counter() - started, 1)
            print(json.dumps(out))
            return 0
        label_through_the_database(app, labelled)
        extra = app.analyst_documents()
        out["analyst_documents"] = len(extra)
        for weight in (float(w) for w in args.weights.split(",")):
            model, info = app.train(extra_documents=extra, analyst_weight=weight, **params)
            after = figures(model, training, other)
            out["runs"].append({"analyst_weight": weight, **after,
                                "macro_f1_gain": round(after["macro_f1"] - out["before"]["macro_f1"], 4)})
            print(json.dumps(out["runs"][-1]), file=sys.stderr, flush=True)
        out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
