"""Classifier speed: training on the whole corpus, loading the model file, scoring a 1,000-word page.

    .venv/bin/python tests/benchmarks/bench_classifier.py [--repeat 200] [--evaluate]

Prints one JSON object:

* `train_seconds`: `classifier.registry.train` on every document of seeds/ (target <= 30 s);
* `save_seconds`, `load_seconds` (first and best of three), `model_file_bytes`: the registry's
  skops file (target: load well under 1 s, hash and type checks included);
* `score_ms_1000_words`: median, p95 and best wall-clock time, and median CPU time, of
  `model.score(text)` for 1,000-word articles made of corpus sentences, after loading and one
  warm-up call (target <= 5 ms); `score_many_ms_per_doc` for a batch of 100 such articles;
* `score_ms_corpus_docs`: median over the corpus's own documents;
* with `--evaluate`: `evaluate_seconds`, the cross-validated evaluation of three systems.

Timings are on this machine; other processes running at the same time inflate the wall-clock
figures (`machine.load_average_1min` says how busy it was), less so the CPU time.
Nothing here asserts a time: the tests never do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from classifier.corpus import load_corpus
from classifier.registry import ModelRegistry, train
from classifier.text import split_sentences


def article(sentences: list[str], words: int, rng: random.Random) -> str:
    """About `words` words of corpus sentences, in paragraphs of four sentences."""
    picked, count = [], 0
    while count < words:
        sentence = rng.choice(sentences)
        picked.append(sentence)
        count += len(sentence.split())
    paragraphs = [" ".join(picked[i : i + 4]) for i in range(0, len(picked), 4)]
    return "Stem cells for multiple sclerosis\n" + "\n".join(paragraphs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200, help="scoring calls to time")
    parser.add_argument("--evaluate", action="store_true", help="also time the cross-validated evaluation")
    args = parser.parse_args()

    corpus = load_corpus(ROOT / "seeds")
    rng = random.Random(7)
    sentences = [s.text for d in corpus.documents for s in split_sentences(d.text) if len(s.text.split()) >= 6]
    articles = [article(sentences, 1000, rng) for _ in range(args.repeat)]
    result: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "load_average_1min": os.getloadavg()[0]},
                    "documents": len(corpus)}

    started = time.perf_counter()
    model, info = train(corpus)
    result["train_seconds"] = round(time.perf_counter() - started, 2)

    with tempfile.TemporaryDirectory() as tmp:
        registry = ModelRegistry(Path(tmp))
        started = time.perf_counter()
        info = registry.save(model, info)
        result["save_seconds"] = round(time.perf_counter() - started, 3)
        result["model_file_bytes"] = (Path(tmp) / f"{info.version}.skops").stat().st_size
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            loaded, _ = registry.load()
            loads.append(time.perf_counter() - started)
        result["load_seconds"] = {"first": round(loads[0], 3), "best": round(min(loads), 3)}

    loaded.score(articles[0])  # warm-up: first-call caches
    words = [len(a.split()) for a in articles]
    times, cpu = [], []
    for text in articles:
        started, started_cpu = time.perf_counter(), time.process_time()
        loaded.score(text)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    result["score_ms_1000_words"] = {"median": round(statistics.median(times), 2),
                                     "p95": round(percentile(times, 0.95), 2),
                                     "best": round(min(times), 2),
                                     "cpu_median": round(statistics.median(cpu), 2),
                                     "mean_words": round(statistics.mean(words))}
    batch = articles[:100]
    started = time.perf_counter()
    loaded.score_many(batch)
    result["score_many_ms_per_doc"] = round((time.perf_counter() - started) * 1000 / len(batch), 2)
    corpus_times = []
    for doc in corpus.documents:
        started = time.perf_counter()
        loaded.score(doc.text)
        corpus_times.append((time.perf_counter() - started) * 1000)
    result["score_ms_corpus_docs"] = {"median": round(statistics.median(corpus_times), 2),
                                      "max": round(max(corpus_times), 2)}

    if args.evaluate:
        from classifier.evaluation import evaluate

        started = time.perf_counter()
        report = evaluate(corpus, n_jobs=min(5, os.cpu_count() or 1))
        result["evaluate_seconds"] = round(time.perf_counter() - started, 1)
        result["evaluate_macro_f1"] = report.systems["model"]["macro_f1"]

    result["targets"] = {"train_seconds": 30, "load_seconds": 1.0, "score_ms_1000_words": 5.0}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
