"""seeds/real/collect.py, run as a session runs it: save, list what is missing, restore.

The script sits in a copy of the repository layout under a temporary directory, beside a stand-in
for the shared held-out checker (an outside tool, not our code), so the real set is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXCERPT = "Stem-cell treatment for multiple sclerosis is offered abroad, the page says. " * 5


def _layout(tmp_path: Path) -> Path:
    holdout = tmp_path / "shared" / "eval-holdout"
    holdout.mkdir(parents=True)
    (holdout / "held_out.py").write_text(
        "def normalise(url):\n    return url.strip().lower()\n\n"
        "def held_out(url):\n    return 'kept-back' in url\n", encoding="utf-8")
    real = tmp_path / "project" / "seeds" / "real"
    real.mkdir(parents=True)
    shutil.copy(ROOT / "seeds" / "real" / "collect.py", real / "collect.py")
    return real


def _run(real: Path, *args: str, text: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(real / "collect.py"), *args], input=text, capture_output=True,
                          text=True, env=env, timeout=60)


def test_a_missing_text_is_listed_by_query_and_restored_only_when_its_hash_matches(tmp_path):
    real = _layout(tmp_path)
    saved = _run(real, "add", "--url", "https://clinic.example/ms", "--query", "stem cells MS", "--collector", "t",
                 text=EXCERPT)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    assert _run(real, "add", "--url", "https://kept-back.example/", "--query", "q", "--collector", "t",
                text=EXCERPT).returncode == 1
    for text in (real / "texts").glob("*.txt"):
        text.unlink()

    listed = _run(real, "worklist", "--parts", "2", "--out", str(tmp_path / "work"))
    assert listed.returncode == 0 and listed.stdout.startswith("1 texts to re-collect")
    chunks = [json.loads(line) for path in sorted((tmp_path / "work").glob("chunk*.jsonl"))
              for line in path.read_text(encoding="utf-8").splitlines()]
    assert chunks == [{"query": "stem cells MS", "urls": ["https://clinic.example/ms"]}]

    altered = _run(real, "restore", "--url", "https://clinic.example/ms", "--query", "stem cells MS",
                   text=EXCERPT + "changed since")
    assert altered.returncode == 1 and altered.stdout.startswith("mismatch")
    restored = _run(real, "restore", "--url", "https://clinic.example/ms", "--query", "stem cells MS", text=EXCERPT)
    assert restored.returncode == 0 and restored.stdout.startswith("restored")
    assert "0 missing" in _run(real, "status").stdout


def test_a_text_that_is_not_utf8_counts_as_altered_and_is_listed_again(tmp_path):
    real = _layout(tmp_path)
    _run(real, "add", "--url", "https://clinic.example/ms", "--query", "stem cells MS", "--collector", "t",
         text=EXCERPT)
    next((real / "texts").glob("*.txt")).write_bytes(b"\xff\xfe not text")
    status = _run(real, "status")
    assert status.returncode == 0 and status.stdout.strip().endswith("1 with a different hash"), status.stderr
    assert _run(real, "worklist", "--out", str(tmp_path / "work")).stdout.startswith("1 texts to re-collect")


def test_restore_never_adds_a_page(tmp_path):
    real = _layout(tmp_path)
    refused = _run(real, "restore", "--url", "https://new.example/page", "--query", "q", text=EXCERPT)
    assert refused.returncode == 1 and refused.stdout.startswith("refused")
    assert not (real / "pages.jsonl").exists() and not list((real / "texts").glob("*.txt"))
