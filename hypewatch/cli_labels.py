"""`hypewatch labels export|import`: labels in JSON Lines, Label Studio and doccano formats.

`hypewatch.cli` imports this module and calls `register(cli)`. Errors are raised, never printed
here: `hypewatch.cli.main` renders them.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from hypewatch.app import Hypewatch
from hypewatch.label_exchange import FORMATS, LABEL_STUDIO_CONFIG, LabelFileError
from hypewatch.output import write_output

MAX_IMPORT_BYTES = 512 * 1024 * 1024


@click.group()
def labels() -> None:
    """Exchange labels with other labelling tools (JSON Lines, Label Studio, doccano)."""


@labels.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--labelled-only", is_flag=True, help="Only pages an analyst has labelled.")
@click.option("--label-studio-config", is_flag=True,
              help="Print the Label Studio labelling interface these files use, and nothing else.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (written whole, then moved into place) instead of stdout.")
@click.pass_obj
def export_labels(app: Hypewatch, fmt: str, labelled_only: bool, label_studio_config: bool,
                  output: Path | None) -> None:
    """The current version of every stored page, with the model's judgement and any analyst label."""
    from hypewatch.label_exchange import export_records
    from storage.labels import analyst_labels, iter_label_tasks

    if label_studio_config:
        click.echo(LABEL_STUDIO_CONFIG, nl=False)
        return

    def write(stream) -> int:
        with app.database.session() as session:
            by_version = {label.version_id: label for label in analyst_labels(session)}
            records = export_records(iter_label_tasks(session, labelled_only=labelled_only), by_version, fmt)
            if fmt == "label-studio":  # Label Studio imports one JSON array of tasks
                rows = list(records)
                json.dump(rows, stream, ensure_ascii=False)
                stream.write("\n")
                return len(rows)
            count = 0
            for record in records:
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
            return count

    count = write_output(output, write)
    if output is not None:
        click.echo(f"hypewatch: exported {count} pages to {output} ({fmt})", err=True)


@labels.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option("--author", default=None, help="Who labelled (default: import:FORMAT).")
@click.pass_obj
def import_labels(app: Hypewatch, path: Path, fmt: str, author: str | None) -> None:
    """Store the labels of PATH (a file exported by `labels export` and labelled elsewhere).

    The whole file is checked first: one bad record, or one naming an unknown document version,
    stores nothing. Importing the same file again stores nothing new.
    """
    from hypewatch.label_exchange import parse_judgements, read_records
    from storage.labels import import_labels as store_labels
    from storage.labels import version_text_lengths

    data = _read_text(path)
    judgements = parse_judgements(read_records(data, fmt), fmt)
    with app.database.session() as session:
        lengths = version_text_lengths(session, sorted({j.version_id for j in judgements}))
        for judgement in judgements:
            if judgement.version_id not in lengths:
                raise LabelFileError(f"{path}: no stored document version {judgement.version_id}")
            spans = [end for spans in judgement.evidence.values() for _, end in spans]
            if any(end > lengths[judgement.version_id] for end in spans):
                raise LabelFileError(f"{path}: an evidence span lies outside version {judgement.version_id}'s text")
        stored = store_labels(session, [(j.version_id, j.fields()) for j in judgements], author or f"import:{fmt}")
    click.echo(f"imported {stored} label(s) from {path} ({len(judgements) - stored} already stored)")


def _read_text(path: Path) -> str:
    from hypewatch.inputs import InputError, read_regular_file

    try:
        data = read_regular_file(path, MAX_IMPORT_BYTES)
    except InputError as exc:
        raise LabelFileError(f"{path}: {exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise LabelFileError(f"{path}: not UTF-8 text") from None


def register(cli: click.Group) -> None:
    cli.add_command(labels)
