"""The human-readable `check` report, rendered with rich."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from classifier.signals import SIGNAL_INFO, hype_band
from classifier.trials import JUDGEMENTS, MISUSE, VERIFIED
from hypewatch.app import CheckResult

MAX_EVIDENCE_CHARS = 220
MAX_TITLE_CHARS = 120
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
        evidence = _evidence_text(signal["evidence"] if signal["flagged"] else [])
        if signal.get("registry"):
            evidence.append(("\n" if evidence else "") + _registry_note(signal), style="bold")
        signals.add_row(f"{mark} {SIGNAL_INFO[name].label}\n  [dim]{name}[/]", f"{signal['probability']:.2f}",
                        evidence)
    counters = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=True)
    counters.add_column("counter-signal", ratio=2)
    counters.add_column("", width=6)
    counters.add_column("evidence", ratio=5)
    for name, counter in data["counter_signals"].items():
        mark = "[bold green]●[/]" if counter["present"] else "[dim]○[/]"
        counters.add_row(f"{mark} {SIGNAL_INFO[name].label}", "yes" if counter["present"] else "no",
                         _evidence_text(counter["evidence"] if counter["present"] else []))
    parts: list[RenderableType] = [header, Text(), summary, Text()]
    if not data["relevant"]:
        parts.append(Text("Not about stem-cell treatment for MS: no signal is flagged.", style="italic"))
    else:
        parts += [signals, Text(), counters]
    if data["cited_trials"]:
        parts += [Text(), _trials_table(data["cited_trials"])]
    body = Group(*parts)
    console.print(Panel(body, title=f"[bold]hypewatch check[/] {data['target']}", title_align="left"))


def _trials_table(trials: list[dict]) -> Table:
    """The registry trials the page cites, each with its status and judgements."""
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False, expand=True)
    table.add_column("cited trial", ratio=2)
    table.add_column("status", ratio=1)
    table.add_column("judgement", ratio=4)
    for trial in trials:
        misused = any(j["name"] in MISUSE for j in trial["judgements"])
        mark = "[bold red]●[/]" if misused else ("[bold green]●[/]" if _verified(trial) else "[dim]○[/]")
        title = (trial["record"] or {}).get("title") or ""
        judged = Text("; ".join(j["label"] for j in trial["judgements"]))
        if title:
            judged.append(f"\n{title if len(title) <= MAX_TITLE_CHARS else title[:MAX_TITLE_CHARS - 1] + '…'}",
                          style="dim")
        table.add_row(Text.from_markup(f"{mark} ").append(trial["identifier"]),
                      Text((trial["status"] or "—").lower().replace("_", " ")), judged)
    return table


def _registry_note(signal: dict) -> str:
    """Says that the registry's judgement of the cited trials moved the signal, which way and from what."""
    moved = signal["registry"]
    cited = "; ".join(f"{c['identifier']}: {', '.join(JUDGEMENTS[j] for j in c['judgements'])}"
                      for c in moved["citations"])
    way = "up" if moved["logit_shift"] > 0 else "down"
    return (f"Moved {way} by the trial registry's judgement ({cited}): "
            f"{moved['probability_before']:.2f} → {signal['probability']:.2f}")


def _verified(trial: dict) -> bool:
    return any(j["name"] == VERIFIED for j in trial["judgements"])


def _evidence_text(evidence: list[dict]) -> Text:
    text = Text()
    for i, item in enumerate(evidence[:2]):
        sentence = item["text"] if len(item["text"]) <= MAX_EVIDENCE_CHARS else item["text"][: MAX_EVIDENCE_CHARS - 1] + "…"
        if i:
            text.append("\n")
        text.append(f"“{sentence}”", style="italic")
    return text
