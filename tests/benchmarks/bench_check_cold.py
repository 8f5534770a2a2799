"""Cold start of `hypewatch check FILE`: the CPU time and peak memory of the whole process.

    .venv/bin/python tests/benchmarks/bench_check_cold.py [--runs 7] [--home DIR]

Prints one JSON object. Each command runs `--runs` times in a fresh Python process (after one
warm-up run that is not counted, which also writes the bytecode caches), alternating with the
yardstick, and the medians are reported:

* `check_txt`, `check_html`: `python -m hypewatch check FILE` on a .txt seed document and on the
  same text as an article page (target: at most 1.5 s of CPU each);
* `help`: `python -m hypewatch --help`;
* `bare_imports`: `python -c "import scrapy, trafilatura, sklearn"`, the yardstick; `ratio` is
  each command's CPU over the yardstick's, run by run.

CPU is user + system from `wait4` (the child's own accounting), peak RSS is its `ru_maxrss`.
`--home` is a HYPEWATCH_HOME holding a trained model; without it one is trained first (about
20 s, not timed). Nothing here asserts a time: the tests never do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import article_html  # noqa: E402

TEXT_FILE = ROOT / "seeds" / "docs" / "001_7d7ce66c201201cd.txt"


def measure(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """One cold run of `argv`: its CPU seconds and peak RSS (MB), from the kernel's accounting."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {stderr.decode(errors='replace')[-500:]}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        env = {**os.environ, "HYPEWATCH_HOME": str(home), "PYTHONPATH": str(ROOT), "HYPEWATCH_REGISTRY_URL": "off",
               "HYPEWATCH_ISRCTN_URL": "off"}
        if args.home is None:
            subprocess.run([sys.executable, "-m", "hypewatch", "train"], env=env, cwd=ROOT, check=True,
                           stdout=subprocess.DEVNULL)
        html_file = Path(scratch) / "page.html"
        text = TEXT_FILE.read_text(encoding="utf-8")
        html_file.write_text(article_html(text.split("\n", 1)[0], text), encoding="utf-8")
        commands = {
            "check_txt": [sys.executable, "-m", "hypewatch", "check", str(TEXT_FILE)],
            "check_html": [sys.executable, "-m", "hypewatch", "check", str(html_file)],
            "help": [sys.executable, "-m", "hypewatch", "--help"],
            "bare_imports": [sys.executable, "-c", "import scrapy, trafilatura, sklearn"],
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
        for argv in commands.values():
            measure(argv, env)  # warm-up: bytecode caches, the page cache
        for _ in range(args.runs):
            for name, argv in commands.items():  # interleaved, so a busy spell hits every command alike
                runs[name].append(measure(argv, env))

    def summary(name: str) -> dict[str, float]:
        cpu = [r["cpu_s"] for r in runs[name]]
        result = {"cpu_s_median": round(statistics.median(cpu), 3), "cpu_s_min": round(min(cpu), 3),
                  "cpu_s_max": round(max(cpu), 3),
                  "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in runs[name]), 1)}
        if name != "bare_imports":
            result["ratio_to_bare_imports"] = round(statistics.median(
                r["cpu_s"] / b["cpu_s"] for r, b in zip(runs[name], runs["bare_imports"], strict=True)), 2)
        return result

    print(json.dumps({
        "runs": args.runs,
        **{name: summary(name) for name in commands},
        "target_cpu_s": 1.5,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_1min": round(os.getloadavg()[0], 2)},
    }, indent=2))


if __name__ == "__main__":
    main()
