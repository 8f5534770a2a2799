"""The human-readable `check` report, rendered with rich."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from classifier.signals import SIGNAL_INFO, hype_band
from hypewatch.app import CheckResult

MAX_EVIDENCE_CHARS = 220
BAND_COLOURS = {"none": "green", "low": "green", "medium": "yellow", "high": "red"}


def render_check(console: Console, result: CheckResult) -> None:
    data = result.to_json()
    header = Text()
    header.append(data["title"] or "(untitled)", style="bold")
    header.append(f"\n{data['url'] or data['target']}", style="dim")
    header.append(
        f"\nextraction {data['extraction']['status']}, {data['extraction']['chars']:,} chars"
        f" · published {data['published'] or 'unknown'} · model {data['model_version']}",
        style="dim",
    )
    score = data["hype_score"]
    band = hype_band(score)
    summary = Text()
    summary.append(f"Hype score {score:.0f}/100 ({band})", style=f"bold {BAND_COLOURS[band]}")
    summary.append(f"   relevance {data['relevance']:.2f} ({'relevant' if data['relevant'] else 'not relevant'})")

    signals = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=True)
    signals.add_column("signal", ratio=2)
    signals.add_column("prob.", justify="right", width=6)
    signals.add_column("evidence", ratio=5)
    for name, signal in data["signals"].items():
        mark = "[bold red]●[/]" if signal["flagged"] else "[dim]○[/]"
        signals.add_row(f"{mark} {SIGNAL_INFO[name].label}\n  [dim]{name}[/]", f"{signal['probability']:.2f}",
                        _evidence_text(signal["evidence"] if signal["flagged"] else []))
    counters = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=True)
    counters.add_column("counter-signal", ratio=2)
    counters.add_column("", width=6)
    counters.add_column("evidence", ratio=5)
    for name, counter in data["counter_signals"].items():
        mark = "[bold green]●[/]" if counter["present"] else "[dim]○[/]"
        counters.add_row(f"{mark} {SIGNAL_INFO[name].label}", "yes" if counter["present"] else "no",
                         _evidence_text(counter["evidence"] if counter["present"] else []))
    if not data["relevant"]:
        note = Text("Not about stem-cell treatment for MS: no signal is flagged.", style="italic")
        body = Group(header, Text(), summary, Text(), note)
    else:
        body = Group(header, Text(), summary, Text(), signals, Text(), counters)
    console.print(Panel(body, title=f"[bold]hypewatch check[/] {data['target']}", title_align="left"))


def _evidence_text(evidence: list[dict]) -> Text:
    text = Text()
    for i, item in enumerate(evidence[:2]):
        sentence = item["text"] if len(item["text"]) <= MAX_EVIDENCE_CHARS else item["text"][: MAX_EVIDENCE_CHARS - 1] + "…"
        if i:
            text.append("\n")
        text.append(f"“{sentence}”", style="italic")
    return text
