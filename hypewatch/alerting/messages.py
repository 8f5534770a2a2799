"""What an alert says: the details an event keeps, and the message (title, plain text, HTML) a
digest of events becomes.

Every page event carries what fired; the page title with links to the original and to its
dashboard page; the hype score; each flagged signal with its top evidence sentence; and, for a
change, the sentences added and removed. Everything from a crawled page is escaped in the HTML,
and only http(s) URLs become links.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from classifier.signals import SIGNAL_INFO, SIGNALS
from storage.alerts import VersionFacts

FULL_ENTRIES = 20  # a digest shows this many events in full, and one line for each of the rest
EVIDENCE_CHARS = 400


@dataclass(frozen=True)
class Message:
    title: str
    text: str
    html: str


@dataclass(frozen=True)
class DigestEntry:
    summary: str
    details: dict[str, Any]


def event_details(fact: VersionFacts, reasons: Sequence[str], *, added: Sequence[str] = (),
                  removed: Sequence[str] = (), dashboard_url: str) -> dict[str, Any]:
    """What a page event keeps for its message (JSON)."""
    signals = []
    for name in SIGNALS:
        if not fact.flags.get(name):
            continue
        evidence = ((fact.details.get("signals") or {}).get(name) or {}).get("evidence") or []
        top = evidence[0]["text"] if evidence and isinstance(evidence[0], dict) else None
        signals.append({"name": name, "label": SIGNAL_INFO[name].label,
                        "evidence": _clip(top, EVIDENCE_CHARS) if top else None})
    return {
        "fired": list(reasons), "title": fact.title or fact.url, "url": fact.url, "source": fact.source,
        "domain": fact.domain, "page_id": fact.page_id, "version_id": fact.version_id,
        "dashboard_url": f"{dashboard_url}/articles/{fact.page_id}?version={fact.version_id}",
        "hype_score": round(fact.hype_score, 1) if fact.hype_score is not None else None,
        "previous_hype_score": round(fact.previous_hype_score, 1) if fact.previous_hype_score is not None else None,
        "signals": signals, "added": list(added), "removed": list(removed),
    }


def compose(rule_name: str, entries: Sequence[DigestEntry], *, test: bool = False) -> Message:
    """One message for a digest of a rule's events (the newest last)."""
    if test:
        title = f"[hypewatch] test of alert rule {rule_name!r}"
    elif len(entries) == 1:
        title = f"[hypewatch] {rule_name}: {entries[0].summary}"
    else:
        title = f"[hypewatch] {rule_name}: {len(entries)} alerts"
    title = _clip(" ".join(title.split()), 250)
    intro = (f"This is a test message of the alert rule {rule_name!r}." if test
             else f"Alert rule {rule_name!r} fired {len(entries)} time(s).")
    text_parts, html_parts = [intro], [f"<p>{_e(intro)}</p>"]
    for number, entry in enumerate(entries, 1):
        if number <= FULL_ENTRIES:
            text_parts.append(_entry_text(number, entry))
            html_parts.append(_entry_html(number, entry))
        else:
            url = entry.details.get("url") or entry.details.get("source") or ""
            text_parts.append(f"{number}. {entry.summary} {url}")
            html_parts.append(f"<p>{number}. {_e(entry.summary)} {_link(entry.details.get('url'))}</p>")
    return Message(title, "\n\n".join(text_parts) + "\n", "<html><body>" + "\n".join(html_parts) + "</body></html>")


def _entry_text(number: int, entry: DigestEntry) -> str:
    d = entry.details
    lines = [f"{number}. {entry.summary}", "   fired: " + "; ".join(d.get("fired") or [])]
    if d.get("url"):
        lines.append(f"   page: {d.get('title')}")
        lines.append(f"   original: {d['url']}")
        lines.append(f"   dashboard: {d.get('dashboard_url')}")
        hype = d.get("hype_score")
        before = d.get("previous_hype_score")
        lines.append(f"   hype score: {hype}" + (f" (was {before})" if before is not None and d.get("added") else ""))
        for signal in d.get("signals") or []:
            lines.append(f"   signal {signal['name']} ({signal['label']}): \"{signal['evidence'] or '(no sentence)'}\"")
        for sentence in d.get("added") or []:
            lines.append(f"   + {sentence}")
        for sentence in d.get("removed") or []:
            lines.append(f"   - {sentence}")
    else:
        for key in ("source", "status", "message", "pages_found", "baseline", "share", "previous_high", "week"):
            if d.get(key) is not None:
                lines.append(f"   {key.replace('_', ' ')}: {d[key]}")
    return "\n".join(lines)


def _entry_html(number: int, entry: DigestEntry) -> str:
    d = entry.details
    parts = [f"<h3>{number}. {_e(entry.summary)}</h3>", f"<p><b>Fired:</b> {_e('; '.join(d.get('fired') or []))}</p>"]
    if d.get("url"):
        parts.append(f"<p><b>{_e(d.get('title'))}</b><br>original: {_link(d['url'])}<br>"
                     f"dashboard: {_link(d.get('dashboard_url'))}<br>hype score: {_e(d.get('hype_score'))}"
                     + (f" (was {_e(d.get('previous_hype_score'))})"
                        if d.get("previous_hype_score") is not None and d.get("added") else "") + "</p>")
        if d.get("signals"):
            items = "".join(f"<li><b>{_e(s['name'])}</b> ({_e(s['label'])}): "
                            f"<q>{_e(s['evidence'] or '(no sentence)')}</q></li>" for s in d["signals"])
            parts.append(f"<ul>{items}</ul>")
        if d.get("added"):
            parts.append("<p>Added:</p><ul>" + "".join(f"<li><ins>{_e(s)}</ins></li>" for s in d["added"]) + "</ul>")
        if d.get("removed"):
            parts.append("<p>Removed:</p><ul>" + "".join(f"<li><del>{_e(s)}</del></li>" for s in d["removed"]) + "</ul>")
    else:
        rows = "".join(f"<li>{_e(key.replace('_', ' '))}: {_e(d[key])}</li>"
                       for key in ("source", "status", "message", "pages_found", "baseline", "share", "previous_high",
                                   "week") if d.get(key) is not None)
        parts.append(f"<ul>{rows}</ul>")
    return "\n".join(parts)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _link(url: Any) -> str:
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        return _e(url)
    return f'<a href="{_e(url)}">{_e(url)}</a>'


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
