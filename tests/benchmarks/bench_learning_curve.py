"""Learning curve on real pages: would more written documents lift the real-page figures?

    .venv/bin/python tests/benchmarks/bench_learning_curve.py [--part tuning|test] [--shares 0.25,0.5,0.75,0.9,1]
        [--draws 2] [--allow-missing]

The model is trained on a random share of the written corpus (the user's seeds always in; each
draw its own seed) and scored on the real pages of `--part`. Flags use cross-validated thresholds,
since the shipped ones were chosen for the model trained on the whole corpus and would flatter it.
Prints one JSON object: per share and draw, the documents trained on, macro ROC-AUC and macro-F1
over the five signals, relevance F1 and hype Spearman. A curve still rising at 100% says writing
more documents would help; a flat one says it would not.

It needs the real set's texts (seeds/real/README.md says how to collect them).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from classifier.corpus import Corpus, load_corpus  # noqa: E402
from classifier.evaluation import evaluate_real  # noqa: E402
from classifier.realset import load_real_set  # noqa: E402
from classifier.registry import train  # noqa: E402
from classifier.signals import SIGNALS  # noqa: E402


def share_of(corpus: Corpus, share: float, draw: int) -> Corpus:
    """About `share` of the written documents, drawn with seed `draw`; the user's seeds always."""
    rng = random.Random(draw)
    return Corpus(tuple(d for d in corpus.documents if d.origin == "user" or rng.random() < share))


def figures(model, training: Corpus, real: Corpus) -> dict:
    systems = evaluate_real(model, training, real, part="learning curve", n_sites=0).systems["model"]
    signals = systems["signals"]
    return {"macro_roc_auc": round(sum(signals[name]["roc_auc"] for name in SIGNALS) / len(SIGNALS), 4),
            "macro_f1": systems["macro_f1"], "relevance_f1": systems["relevance"]["f1"],
            "hype_spearman": systems["hype_spearman"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["tuning", "test"], default="tuning")
    parser.add_argument("--shares", default="0.25,0.5,0.75,0.9,1")
    parser.add_argument("--draws", type=int, default=2, help="random draws per share below 1")
    parser.add_argument("--allow-missing", action="store_true",
                        help="leave out the pages whose texts could not be re-collected (as evaluate --real does)")
    args = parser.parse_args()
    real = load_real_set(ROOT / "seeds" / "real", args.part, require_texts=not args.allow_missing)
    corpus = load_corpus(ROOT / "seeds")
    out: dict = {"part": args.part, "real_pages": len(real.pages), "missing_pages": list(real.missing),
                 "corpus_documents": len(corpus), "runs": []}
    started = time.perf_counter()
    for share in (float(s) for s in args.shares.split(",")):
        for draw in range(args.draws if share < 1 else 1):
            training = share_of(corpus, share, draw) if share < 1 else corpus
            model, _ = train(training, thresholds=None)
            run = {"share": share, "draw": draw, "documents": len(training), **figures(model, training, real.corpus())}
            out["runs"].append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
