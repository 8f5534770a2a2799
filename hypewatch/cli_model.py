"""The model commands: `hypewatch train`, `hypewatch evaluate`, `hypewatch rescore`.

`hypewatch.cli` imports this module and calls `register(cli)`. Errors are raised, never printed
here: `hypewatch.cli.main` renders them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from hypewatch.app import Hypewatch


@click.command()
@click.option("--with-labels", is_flag=True,
              help="Add the analysts' labels stored in the database to the labelled corpus.")
@click.option("--json", "as_json", is_flag=True, help="Print the new model's manifest as JSON.")
@click.pass_obj
def train(app: Hypewatch, with_labels: bool, as_json: bool) -> None:
    """Train a model on seeds/ (and analysts' labels), store it in the registry and make it current."""
    extra = app.analyst_documents() if with_labels else []
    _, info = app.train(extra_documents=extra)
    if as_json:
        click.echo(json.dumps({**asdict(info), "analyst_documents": len(extra)}, ensure_ascii=False))
        return
    click.echo(f"trained {info.version} on {info.documents} documents"
               f" ({len(extra)} from analysts' labels) in {info.training_seconds:.1f} s")
    cv = info.metrics.get("training_cv_f1", {})
    if cv:
        click.echo("cross-validated F1 seen while training: "
                   + ", ".join(f"{name} {value:.2f}" for name, value in cv.items()))
    click.echo(f"model file: {app.registry.model_dir / (info.version + '.skops')}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the full evaluation as one JSON object.")
@click.option("--with-labels", is_flag=True, help="Evaluate on seeds/ plus the analysts' labels in the database.")
@click.option("--folds", "n_splits", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Number of cross-validation folds.")
@click.option("--jobs", "n_jobs", type=click.IntRange(1, 64), default=None,
              help="Folds run in parallel (default: the number of CPUs, at most the number of folds).")
@click.option("--check-floors", is_flag=True,
              help="Fail (exit 2) when a figure is below its pinned floor in classifier/quality_floors.json.")
@click.option("--real", is_flag=True,
              help="Measure the current model on the labelled real pages of seeds/real/ instead of the corpus.")
@click.option("--part", type=click.Choice(["test", "tuning"]), default="test", show_default=True,
              help="With --real: which part of the real set.")
@click.option("--allow-missing", is_flag=True,
              help="With --real: leave out (and list) the pages whose texts could not be re-collected, "
                   "instead of refusing; the figures are then not comparable with the README's.")
@click.option("--tune-thresholds", is_flag=True,
              help="With --real --part tuning: choose the flag thresholds on these pages and write them to "
                   "classifier/thresholds.json (retrain afterwards).")
@click.pass_obj
def evaluate(app: Hypewatch, as_json: bool, with_labels: bool, n_splits: int, n_jobs: int | None,
             check_floors: bool, real: bool, part: str, allow_missing: bool, tune_thresholds: bool) -> None:
    """Cross-validate the model beside a keyword baseline and a DummyClassifier.

    Grouped, stratified folds (near-duplicate documents stay in one fold); per-signal precision,
    recall, F1 and ROC-AUC, relevance F1, macro-F1 and the Spearman correlation of the hype score
    with the 0-3 labels, for the three systems side by side.

    With --real: the current model (trained on the whole corpus) and the two baselines on real web
    pages nobody here wrote (seeds/real/), with a breakdown by genre and by language.
    """
    from classifier.errors import QualityGateError
    from classifier.evaluation import check_floors as floor_failures

    if tune_thresholds:
        if not real or part != "tuning":
            raise click.UsageError("--tune-thresholds needs --real --part tuning (never tune on the test part)")
        chosen = app.tune_thresholds()
        click.echo("thresholds written to classifier/thresholds.json: "
                   + ", ".join(f"{name} {value:.2f}" for name, value in chosen.items()))
        return
    if real:
        real_report = app.evaluate_real(part, allow_missing=allow_missing)
        if as_json:
            click.echo(json.dumps(real_report.to_dict(), ensure_ascii=False))
        else:
            _render_real_evaluation(Console(), real_report)
        return
    jobs = n_jobs or max(1, min(n_splits, os.cpu_count() or 1))
    report = app.evaluate(with_labels=with_labels, n_splits=n_splits, n_jobs=jobs)
    data = report.to_dict()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        _render_evaluation(Console(), report)
    if check_floors:
        failures = floor_failures(data)
        if failures:
            raise QualityGateError(failures)
        if not as_json:
            click.echo("all figures at or above their floors")


def _systems_table(title: str, rows) -> Table:
    """The three systems side by side, one figure a row."""
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    for system in ("model", "keyword baseline", "DummyClassifier"):
        table.add_column(system, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def _render_evaluation(console: Console, report) -> None:
    console.print(_systems_table(f"hypewatch evaluate: {report.n_documents} documents, {report.n_splits}-fold "
                                 "grouped, stratified cross-validation", report.summary_rows()))
    data = report.to_dict()
    ahead = data["model_ahead_of_keyword"]
    behind = [name for name, ok in ahead.items() if not ok]
    console.print("model ahead of the keyword baseline on every signal's F1" if not behind
                  else f"model NOT ahead of the keyword baseline on: {', '.join(behind)}")
    console.print(f"per-fold macro-F1 of the model: {data['systems']['model']['fold_macro_f1']}"
                  f" · {data['seconds']:.0f} s")


def _render_real_evaluation(console: Console, report) -> None:
    if report.missing:
        console.print(f"[yellow]{len(report.missing)} page(s) of the {report.part} part left out: their texts are "
                      f"missing ({', '.join(report.missing)})[/yellow]")
    console.print(_systems_table(f"hypewatch evaluate --real: {report.n_pages} real pages from {report.n_sites} "
                                 f"sites ({report.part} part), model {report.model_version}", report.summary_rows()))
    for title, groups in (("genre", report.by_genre), ("language", report.by_language)):
        breakdown = Table(title=f"by {title}: macro-F1 / relevance F1", title_justify="left")
        breakdown.add_column(title)
        breakdown.add_column("pages (relevant)", justify="right")
        for system in ("model", "keyword", "dummy"):
            breakdown.add_column(system, justify="right")
        for name, systems in groups.items():
            first = systems["model"]
            breakdown.add_row(name, f"{first['n']} ({first['relevant']})",
                              *(f"{systems[s]['macro_f1']:.2f} / {systems[s]['relevance_f1']:.2f}"
                                for s in ("model", "keyword", "dummy")))
        console.print(breakdown)
    if report.agreement:
        console.print("labelled twice, independently; Cohen's kappa (raw agreement): " + ", ".join(
            f"{name} {f['kappa']:.2f} ({f['agreement']:.0%})" for name, f in report.agreement.items()))


@click.command()
@click.option("--current-only", is_flag=True, help="Only each page's current version (default: every stored version).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=64, show_default=True)
@click.pass_obj
def rescore(app: Hypewatch, current_only: bool, batch_size: int) -> None:
    """Score stored document versions with the current model (those it has not scored yet)."""
    count = app.rescore(current_only=current_only, batch_size=batch_size)
    click.echo(f"rescored {count} document version(s) with model {app.model_info.version}")


def register(cli: click.Group) -> None:
    cli.add_command(train)
    cli.add_command(evaluate)
    cli.add_command(rescore)
