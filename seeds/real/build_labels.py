#!/usr/bin/env python3
"""Build `labels.jsonl` from the two independent annotations and the adjudications.

    .venv/bin/python seeds/real/build_labels.py

Reads `annotations/a.jsonl` and `annotations/b.jsonl` (each annotator's labels, never seen by the
other) and `annotations/adjudicated.jsonl` (the final label of every page they disagreed on,
in any field). A page both labelled alike keeps that label; a disputed page takes the
adjudicated one; a page labelled once is left out. Each page's part (tuning or test) follows its
site (`classifier.realset.split_of`), so the split is made once and never moves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from classifier.realset import FIELDS, field_value, split_of  # noqa: E402

KEYS = ("relevant", "signals", "hype", "genre", "lang")


def read(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return {row["id"]: row for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if row}


def main() -> int:
    pages = read(HERE / "pages.jsonl")
    first, second = read(HERE / "annotations" / "a.jsonl"), read(HERE / "annotations" / "b.jsonl")
    adjudicated = read(HERE / "annotations" / "adjudicated.jsonl")
    rows, disputed_open = [], []
    for page_id, page in pages.items():
        if page_id not in first or page_id not in second:
            continue
        a, b = first[page_id], second[page_id]
        agree = all(field_value(a, f) == field_value(b, f) for f in FIELDS)
        label = a if agree else adjudicated.get(page_id)
        if label is None:
            disputed_open.append(page_id)
            continue
        row = {"id": page_id, **{k: label[k] for k in KEYS}, "split": split_of(page["site"]),
               "adjudicated": not agree}
        if not row["relevant"]:
            row.update(signals=[], hype=0)
        rows.append(row)
    rows.sort(key=lambda r: r["id"])
    (HERE / "labels.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                       encoding="utf-8")
    parts = {part: sum(r["split"] == part for r in rows) for part in ("tuning", "test")}
    print(f"{len(rows)} labelled pages ({parts['tuning']} tuning, {parts['test']} test); "
          f"{len(disputed_open)} disputed pages not adjudicated yet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
