"""The `hypewatch` command line.

Errors from every package are rendered here, in `main`, as one line on stderr with exit code 2;
nothing else in the project prints errors or configures logging.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import click

from classifier.errors import ClassifierError
from crawler.errors import CrawlerError
from hypewatch.app import Hypewatch
from hypewatch.deferred_imports import defer_imports
from hypewatch.errors import HypewatchError, TargetError
from hypewatch.output import write_output
from hypewatch.settings import get_settings
from storage.errors import StorageError

EXIT_TARGET_ERROR = 2
EXIT_HYPE_ABOVE = 3
USER_ERRORS = (HypewatchError, StorageError, ClassifierError, CrawlerError)


@click.group()
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """hypewatch: watch the web for hype about stem-cell therapy for multiple sclerosis."""
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if verbose < 2:
        # trafilatura logs its parser's complaints (an empty or broken page gives four lines); what
        # came of an extraction is reported once, by us, as the target's outcome.
        logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    ctx.obj = Hypewatch(get_settings())


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per target (JSON Lines for several).")
@click.option("--save", is_flag=True, help="Store page, version and prediction in the database.")
@click.option("--fail-above", type=click.FloatRange(0, 100), default=None, metavar="N",
              help="Exit 3 when any hype score is >= N.")
@click.option("--allow-private", is_flag=True, help="Allow loopback, private and link-local addresses.")
@click.pass_obj
def check(app: Hypewatch, targets: tuple[str, ...], as_json: bool, save: bool, fail_above: float | None,
          allow_private: bool) -> None:
    """Score TARGET(s) for hype: http(s) URLs, local .html/.htm/.txt files, or - for stdin.

    Exit status: 0 all checked; 2 a target could not be checked (the others still are); 3 a hype
    score reached --fail-above (2 wins when both happen, since the result is incomplete).
    """
    # Scoring never uses SciPy's statistics, which scikit-learn imports as it starts (0.3 s of CPU).
    defer_imports("scipy.stats")
    console = None
    failed = above = False
    for target in targets:
        try:
            result = app.check(target, allow_private=allow_private)
            if save:
                stored = app.save(result)
                click.echo(f"hypewatch: saved {result.storage_url} ({stored.status} version)", err=True)
        except TargetError as exc:
            failed = True
            click.echo(f"hypewatch: error: {exc}", err=True)
            if as_json:
                click.echo(json.dumps({"target": exc.target, "error": exc.reason}, ensure_ascii=False))
            continue
        if as_json:
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            from rich.console import Console

            from hypewatch.report import render_check

            console = console or Console()
            render_check(console, result)
        if fail_above is not None and result.score.hype_score >= fail_above:
            above = True
    if failed:
        sys.exit(EXIT_TARGET_ERROR)
    if above:
        sys.exit(EXIT_HYPE_ABOVE)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (written whole, then moved into place) instead of stdout.")
@click.pass_obj
def export(app: Hypewatch, fmt: str, output: Path | None) -> None:
    """Every stored page with its latest version's metadata and prediction."""
    from classifier.signals import hype_band
    from dashboard.spreadsheet import safe_row
    from storage.repository import iter_export_rows

    def write(stream) -> int:
        count = 0
        with app.database.session() as session:
            writer = None
            for row in iter_export_rows(session):
                flat = row.as_flat_dict()
                flat["hype_band"] = hype_band(flat["hype_score"]) if flat.get("hype_score") is not None else None
                if fmt == "jsonl":
                    stream.write(json.dumps(flat, ensure_ascii=False) + "\n")
                else:
                    if writer is None:
                        writer = csv.DictWriter(stream, fieldnames=list(flat), lineterminator="\n")
                        writer.writeheader()
                    writer.writerow(safe_row(flat))
                count += 1
        return count

    count = write_output(output, write)
    if output is not None:
        click.echo(f"hypewatch: exported {count} pages to {output}", err=True)


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(app: Hypewatch) -> None:
    """Create or migrate the database schema to the newest version."""
    from storage.db import current_revision, upgrade

    upgrade(app.database.engine)
    click.echo(f"database at revision {current_revision(app.database.engine)}: "
               f"{app.database.engine.url.render_as_string(hide_password=True)}")


@cli.group()
def corpus() -> None:
    """The labelled corpus in seeds/."""


@corpus.command("check")
@click.option("--seeds", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Corpus directory (default: HYPEWATCH_SEEDS or the project's seeds/).")
@click.pass_obj
def corpus_check(app: Hypewatch, seeds: Path | None) -> None:
    """Validate labels.jsonl and docs/: every problem with its file and line."""
    from classifier.corpus import check_corpus, load_corpus

    seeds = seeds or app.settings.seeds_dir
    problems = check_corpus(seeds)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"hypewatch: corpus has {len(problems)} problem(s)", err=True)
        sys.exit(EXIT_TARGET_ERROR)
    corpus_ = load_corpus(seeds)
    click.echo(f"corpus ok: {len(corpus_)} documents in {seeds}")


def register_commands() -> None:
    """Commands that live in their own modules."""
    for module_name in ("hypewatch.cli_model", "hypewatch.cli_crawl", "hypewatch.cli_dashboard", "hypewatch.cli_labels",
                        "hypewatch.cli_alerts", "hypewatch.cli_trials"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(cli)


register_commands()


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="hypewatch", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("hypewatch: aborted", err=True)
        return 130
    except USER_ERRORS as exc:
        # One line, whatever a library put in the message (hints, links to its documentation).
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        click.echo(f"hypewatch: error: {message}", err=True)
        return getattr(exc, "exit_code", EXIT_TARGET_ERROR)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        click.echo("hypewatch: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
