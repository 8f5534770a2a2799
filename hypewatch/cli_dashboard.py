"""Dashboard commands: `serve` and `demo` (registered by hypewatch.cli)."""

from __future__ import annotations

import click

from hypewatch.app import Hypewatch

host_option = click.option("--host", default="127.0.0.1", show_default=True,
                           help="Address to listen on; anything but loopback needs HYPEWATCH_DASHBOARD_PASSWORD.")
port_option = click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
                           help="Port to listen on (0: any free port).")


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(demo)


def _say(message: str) -> None:
    # The dashboard's URL goes to stdout (what a script would read); progress goes to stderr.
    click.echo(f"hypewatch: {message}", err=not message.startswith("dashboard running"))


@click.command()
@host_option
@port_option
@click.pass_obj
def serve(app: Hypewatch, host: str, port: int) -> None:
    """Serve the analyst dashboard (and its JSON API, docs at /docs)."""
    from hypewatch.serving import serve_dashboard

    serve_dashboard(app, host, port, announce=_say)


@click.command()
@host_option
@port_option
@click.option("--max-pages", type=click.IntRange(min=1), default=None, help="Page budget per demo source.")
@click.option("--source", "source_names", multiple=True, metavar="NAME",
              help="Crawl only this demo source (demo-site, demo-feed or demo-sitemap); repeatable. Default: all.")
@click.pass_obj
def demo(app: Hypewatch, host: str, port: int, max_pages: int | None, source_names: tuple[str, ...]) -> None:
    """Crawl the bundled demo site into a fresh database and open the dashboard on it.

    The demo database lives in HYPEWATCH_HOME/demo/ and is replaced on every run.
    """
    from hypewatch.demo import run_demo

    run_demo(app.settings, host=host, port=port, say=_say, max_pages=max_pages, source_names=source_names)
