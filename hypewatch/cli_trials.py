"""`hypewatch trials refresh`: the trial-registry cache (registered by hypewatch.cli)."""

from __future__ import annotations

import json

import click

from hypewatch.app import Hypewatch


def register(cli: click.Group) -> None:
    cli.add_command(trials)


@click.group()
def trials() -> None:
    """The trial-registry records cited pages are judged by."""


@trials.command("refresh")
@click.option("--all", "everything", is_flag=True, help="Fetch every cited trial again, however fresh its record.")
@click.option("--json", "as_json", is_flag=True, help="The counts as JSON.")
@click.pass_obj
def refresh(app: Hypewatch, everything: bool, as_json: bool) -> None:
    """Fetch the cited trials that have no record yet, or one older than HYPEWATCH_REGISTRY_MAX_AGE days
    (ClinicalTrials.gov's and ISRCTN's, each from its registry), and score again the pages whose
    predictions their judgements move."""
    from hypewatch.dispatch import refresh_trials
    from hypewatch.errors import ConfigError

    clients = app.registry_clients
    if not clients:
        raise ConfigError("HYPEWATCH_REGISTRY_URL and HYPEWATCH_ISRCTN_URL are off: no registry to refresh from")
    outcome, moved = refresh_trials(app, everything=everything)
    if as_json:
        click.echo(json.dumps({**outcome.to_dict(), "predictions_moved": moved}))
    else:
        click.echo(f"trials: {outcome.asked} asked, {outcome.found} found, {outcome.not_found} not found, "
                   f"{outcome.unverified} left unverified ({', '.join(c.base_url for c in clients)}); "
                   f"{moved} prediction(s) moved by their judgements")
