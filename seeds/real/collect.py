#!/usr/bin/env python3
"""Collect (or re-collect) one real page excerpt of the development set.

    python3 seeds/real/collect.py add --url URL --query QUERY --collector NAME <<'__END_OF_EXCERPT__'
    ...the excerpt exactly as the search tool returned it...
    __END_OF_EXCERPT__

    python3 seeds/real/collect.py restore --url URL --query QUERY <<'__END_OF_EXCERPT__'
    ...                                         # like add, but only for a page already recorded
    __END_OF_EXCERPT__
    python3 seeds/real/collect.py status        # how many texts are present, missing or mismatched
    python3 seeds/real/collect.py worklist --parts 4 --out DIR
                                                # the missing texts, grouped by query, in DIR/chunk<i>.jsonl

The excerpt's text goes to `texts/<id>.txt` (git-ignored: third-party text is never committed);
its record (id, URL, site, query, hash of the normalised text) goes to `pages.jsonl`, which is
committed. A page that `../shared/eval-holdout/held_out.py` names is refused and leaves no trace.
Re-collecting a page already in `pages.jsonl` restores its text when the hash matches.
Standard library only, so it runs before the project is installed.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from classifier.text import text_hash  # noqa: E402  (standard library only, like this script)

TEXTS = HERE / "texts"
PAGES = HERE / "pages.jsonl"
HOLDOUT = HERE.parents[2] / "shared" / "eval-holdout"
MAX_PER_SITE = 4
MIN_CHARS = 200


def page_id(url: str) -> str:
    """`r` + 10 hex digits of the SHA-256 of the URL normalised as the held-out list normalises it."""
    sys.path.insert(0, str(HOLDOUT))
    from held_out import normalise

    return "r" + hashlib.sha256(normalise(url).encode()).hexdigest()[:10]


def site_of(url: str) -> str:
    return (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")


def held_out(url: str) -> bool:
    sys.path.insert(0, str(HOLDOUT))
    from held_out import held_out as check  # the project's one source of truth for held-out pages
    return check(url)


def records() -> list[dict]:
    if not PAGES.exists():
        return []
    return [json.loads(line) for line in PAGES.read_text().splitlines() if line.strip()]


def add(url: str, query: str, collector: str, text: str, *, restore_only: bool = False) -> str:
    """Save an excerpt (`saved`), or restore a recorded one whose hash matches (`restored`). With
    `restore_only`, a page without a record is refused, so re-collecting never adds a page."""
    if not urlsplit(url).scheme.startswith("http"):
        return "refused: not an http(s) URL"
    if held_out(url):
        return "refused: held-out page (do not use it in any way)"
    text = text.strip("\n")
    if len(text) < MIN_CHARS:
        return f"refused: shorter than {MIN_CHARS} characters"
    TEXTS.mkdir(exist_ok=True)
    with open(HERE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        known = {r["id"]: r for r in records()}
        pid = page_id(url)
        digest = text_hash(text)
        path = TEXTS / f"{pid}.txt"
        if pid in known:
            if known[pid]["sha256"] != digest:
                return f"mismatch: {pid} is recorded with another text hash (not written)"
            if path.exists():
                return f"duplicate: {pid} already collected"
            path.write_text(text + "\n", encoding="utf-8")
            return f"restored: {pid}"
        if restore_only:
            return f"refused: {url.strip()} has no record in {PAGES.name} (restore adds no page)"
        site = site_of(url)
        if sum(r["site"] == site for r in known.values()) >= MAX_PER_SITE:
            return f"refused: already {MAX_PER_SITE} pages from {site}"
        path.write_text(text + "\n", encoding="utf-8")
        record = {"id": pid, "url": url.strip(), "site": site, "query": query, "collector": collector,
                  "chars": len(text), "sha256": digest}
        with open(PAGES, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return f"saved: {pid} ({site}, {len(text)} chars; {len(known) + 1} pages in all)"


def _text_state(record: dict) -> str:
    """The state of the record's text: "present", "missing" or "altered" (another hash, or not UTF-8)."""
    path = TEXTS / f"{record['id']}.txt"
    if not path.exists():
        return "missing"
    try:
        return "present" if text_hash(path.read_text(encoding="utf-8")) == record["sha256"] else "altered"
    except UnicodeDecodeError:
        return "altered"


def status() -> str:
    rows = records()
    states = [_text_state(r) for r in rows]
    present, altered = states.count("present"), states.count("altered")
    sites = len({r["site"] for r in rows})
    return (f"{len(rows)} pages from {sites} sites; {present + altered} texts present, "
            f"{states.count('missing')} missing, {altered} with a different hash")


def worklist(parts: int, out: Path) -> str:
    """Write the missing (or altered) texts' URLs, grouped by the query that found them, split
    round-robin into `parts` files `chunk<i>.jsonl` of {"query", "urls"}: one per re-collecting helper."""
    missing = [r for r in records() if _text_state(r) != "present"]
    by_query: dict[str, list[str]] = {}
    for r in missing:
        by_query.setdefault(r["query"], []).append(r["url"])
    queries = list(by_query.items())
    out.mkdir(parents=True, exist_ok=True)
    for i in range(parts):
        lines = [json.dumps({"query": q, "urls": urls}, ensure_ascii=False) for q, urls in queries[i::parts]]
        (out / f"chunk{i}.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return f"{len(missing)} texts to re-collect, {len(queries)} queries, in {parts} chunk files under {out}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add")
    a.add_argument("--url", required=True)
    a.add_argument("--query", required=True)
    a.add_argument("--collector", required=True)
    r = sub.add_parser("restore")
    r.add_argument("--url", required=True)
    r.add_argument("--query", required=True)
    sub.add_parser("status")
    w = sub.add_parser("worklist")
    w.add_argument("--parts", type=int, default=4)
    w.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command in ("add", "restore"):
        restoring = args.command == "restore"
        message = add(args.url, args.query, "recollect" if restoring else args.collector, sys.stdin.read(),
                      restore_only=restoring)
        print(message)
        return 0 if message.startswith(("saved", "restored", "duplicate")) else 1
    if args.command == "worklist":
        if args.parts < 1:
            parser.error("--parts must be at least 1")
        print(worklist(args.parts, args.out))
        return 0
    print(status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
