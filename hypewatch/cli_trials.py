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
    import datetime as dt

    from hypewatch.errors import ConfigError
    from hypewatch.trials import ResolveOutcome, resolve

    clients = app.registry_clients
    if not clients:
        raise ConfigError("HYPEWATCH_REGISTRY_URL and HYPEWATCH_ISRCTN_URL are off: no registry to refresh from")
    max_age = dt.timedelta(0) if everything else dt.timedelta(days=app.settings.registry_max_age)
    outcome = ResolveOutcome()
    for client in clients:
        outcome += resolve(app.database, client, refresh=True, max_age=max_age)
    # The pages citing what was fetched are scored again where the new judgements move them.
    moved = app.ground_cited(outcome.fetched, newer_than=None)
    if as_json:
        click.echo(json.dumps({**outcome.to_dict(), "predictions_moved": moved}))
    else:
        click.echo(f"trials: {outcome.asked} asked, {outcome.found} found, {outcome.not_found} not found, "
                   f"{outcome.unverified} left unverified ({', '.join(c.base_url for c in clients)}); "
                   f"{moved} prediction(s) moved by their judgements")
