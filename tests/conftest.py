"""Shared fixtures: real HTTP servers, real SQLite and PostgreSQL databases, a trained model.

- `local_site`: a threaded HTTP server on 127.0.0.1 whose routes a test declares (a route may
  also drip its body a byte at a time, for ever); it records each request's path, Host and time.
  `own_site` is one for a single test (its own robots.txt, request times from zero).
- `compression_bombs`: a brotli and a doubly-gzipped body of a few KB that decode to 512 MB.
- `database_url`: a fresh, empty database per test. SQLite by default; tests marked
  `@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)` run on both SQLite and the
  PostgreSQL server (HYPEWATCH_TEST_POSTGRES_URL, default 127.0.0.1:5432/test) and are skipped
  with a clear reason when that server is unreachable. With HYPEWATCH_DATABASE_URL set to a
  PostgreSQL URL, every test's database is made on that server instead.
- `google_news_link` / `bing_link`: a publisher's URL wrapped the way those aggregators' feeds do.
- `model_dir`: a model trained once per session from seeds/, copied into each test's home.
- `browser`: headless Chromium through Playwright, per module.
- `run_cli_measured`: the CLI in a subprocess, with its wall time and its own peak RSS.
- `settings` / `app` / `cli_env`: a private HYPEWATCH_HOME per test, wired to the above.
- `smtp_receiver` / `webhook_receiver`: a real SMTP server (aiosmtpd) and a JSON webhook receiver on
  loopback that keep what alerts send them.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import gzip
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hypewatch.app import Hypewatch
from hypewatch.settings import PROJECT_ROOT, Settings

SEEDS_DIR = PROJECT_ROOT / "seeds"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]


# ---------------------------------------------------------------- hostile URLs
# URLs a user, a sources file or a hostile page may hand us, with what the error must say.
HOSTILE_URLS = {
    "http://" + "a" * 10_000 + ".com/": "too long",
    "http://" + "a" * 64 + ".com/": "longer than 63",
    "http://a..b/": "empty part",
    "http://" + ".".join(["a" * 60] * 5) + "/": "too long",
    "http://[::1/": "not a valid URL",
    "http://example.org:99999/": "not a valid URL",
    "http://example.org:port/": "not a valid URL",
    "http://\u00ff\u00ad.example/": "internationalised",
    "http://ab\u200d.example/": "internationalised",
    "ftp://example.org/x": "only http and https",
    "http:///path": "no host",
}


# ---------------------------------------------------------------- local HTTP site
@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0  # > 0: send the body's bytes one at a time, this many seconds apart, round and round


class LocalSite:
    """A real HTTP server on loopback; tests add routes and read what was requested."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.hosts: list[str | None] = []  # the Host header of each request
        self.times: list[float] = []  # when each request arrived (time.monotonic())
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                site.times.append(time.monotonic())
                site.requests.append(self.path)
                site.hosts.append(self.headers.get("Host"))
                route = (site.routes.get(self.path) or site.routes.get(self.path.split("?", 1)[0])
                         or site.routes.get(self.path.split("?", 1)[0].rsplit("/", 1)[0] + "/*"))
                if route is None:
                    route = Route(404, b"<html><body><p>not found</p></body></html>", {"Content-Type": "text/html"})
                if route.delay:
                    time.sleep(route.delay)
                if route.drip:
                    self.drip(route)
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def drip(self, route: Route) -> None:
                self.close_connection = True
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for byte in itertools.cycle(route.body or b" "):
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(route.drip)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: str | bytes = b"", *, status: int = 200, content_type: str = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None, delay: float = 0.0, drip: float = 0.0) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        self.routes[path] = Route(status, data, all_headers, delay, drip)
        return self.url(path)

    def add_redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, b"", status=status, headers={"Location": location})


@pytest.fixture(scope="session")
def local_site() -> Iterator[LocalSite]:
    site = LocalSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def own_site() -> Iterator[LocalSite]:
    """A `LocalSite` for one test alone: its robots.txt and request times are the test's own."""
    site = LocalSite()
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


# ---------------------------------------------------------------- a local trial registry
def ct_study(nct_id: str, *, title: str = "Autologous haematopoietic stem cell transplantation in relapsing "
             "multiple sclerosis", conditions: tuple[str, ...] = ("Relapsing Multiple Sclerosis",),
             interventions: tuple[str, ...] = ("Autologous haematopoietic stem cell transplantation",),
             status: str = "COMPLETED", start: str = "2015-02", completion: str = "2019-06-30",
             enrollment: int = 120, sponsor: str = "Northfield University Hospital", sponsor_class: str = "OTHER",
             has_results: bool = True, phases: tuple[str, ...] = ("PHASE3",)) -> dict:
    """A study as ClinicalTrials.gov API v2 returns it (`/api/v2/studies/{nctId}`): the modules and
    fields hypewatch reads, laid out as the API's public schema documents them. Invented values."""
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct_id, "briefTitle": title, "officialTitle": title},
            "statusModule": {
                "overallStatus": status,
                "startDateStruct": {"date": start, "type": "ACTUAL"},
                "primaryCompletionDateStruct": {"date": completion, "type": "ACTUAL"},
                "completionDateStruct": {"date": completion, "type": "ACTUAL"},
                "lastUpdatePostDateStruct": {"date": "2024-01-15", "type": "ACTUAL"},
            },
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": sponsor, "class": sponsor_class}},
            "conditionsModule": {"conditions": list(conditions)},
            "designModule": {"studyType": "INTERVENTIONAL", "phases": list(phases),
                             "enrollmentInfo": {"count": enrollment, "type": "ACTUAL"}},
            "armsInterventionsModule": {"interventions": [{"type": "PROCEDURE", "name": n} for n in interventions]},
        },
        "hasResults": has_results,
    }


class LocalRegistry:
    """A ClinicalTrials.gov API v2 stand-in on loopback: the studies a test adds, 404 for the rest."""

    PREFIX = "/api/v2/studies/"

    def __init__(self, site: LocalSite) -> None:
        self.site = site
        self.base_url = site.base_url

    def add(self, study: dict) -> str:
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
        self.site.add(self.PREFIX + nct_id, json.dumps(study), content_type="application/json")
        return nct_id

    def answer_all(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Every study request from now on gets `status` (429: rate-limited, 503: down)."""
        for path in list(self.site.routes):
            self.site.add(path, b"{}", status=status, content_type="application/json", headers=headers)
        self.site.routes[self.PREFIX + "*"] = Route(status, b"{}", {"Content-Type": "application/json",
                                                                    **(headers or {})})

    @property
    def study_requests(self) -> list[str]:
        return [path for path in self.site.requests if path.startswith(self.PREFIX)]


@pytest.fixture
def registry(own_site) -> LocalRegistry:
    return LocalRegistry(own_site)


# ---------------------------------------------------------------- a local ISRCTN registry
ISRCTN_NS = "http://www.67bricks.com/isrctn"


def isrctn_trial(number: str, *, title: str = "Stem cells in multiple sclerosis",
                 scientific_title: str = "Autologous mesenchymal stem cell transplantation in progressive multiple "
                 "sclerosis: a randomised controlled trial", conditions: tuple[str, ...] = ("Multiple sclerosis",),
                 interventions: tuple[str, ...] = ("Intravenous autologous mesenchymal stem cells",),
                 phase: str = "Phase II", status_override: str | None = None, reason_abandoned: str | None = None,
                 start: str = "2014-03-01T00:00:00.000Z", end: str = "2018-09-30T00:00:00.000Z",
                 recruitment_start: str = "2014-06-01T00:00:00.000Z", recruitment_end: str = "2017-06-30T00:00:00.000Z",
                 target: int = 80, final: int | None = 76, sponsor: str = "Eastbridge University",
                 sponsor_type: str = "University/education", outputs: tuple[str, ...] = ("basicresults", "resultsarticle"),
                 last_updated: str = "2023-11-20T10:15:00.000Z") -> str:
    """One `fullTrial` element as the ISRCTN query API (`/api/query/format/default`) returns it: the
    elements hypewatch reads, named and nested as the API's field names document them. Invented values."""
    condition_elements = "".join(f"<condition>{_xml('description', c)}<diseaseClass1>Nervous System Diseases"
                                 "</diseaseClass1></condition>" for c in conditions)
    intervention_elements = "".join(f"<intervention>{_xml('description', i)}<interventionType>Biological/Vaccine"
                                    f"</interventionType>{_xml('phase', phase)}<drugNames/></intervention>"
                                    for i in interventions)
    output_elements = "".join(f'<output outputType="{o}" artefactType="ExternalLink" id="o{n}"/>'
                              for n, o in enumerate(outputs))
    return (
        f'<fullTrial><trial lastUpdated="{last_updated}" version="4">'
        f'<isrctn dateAssigned="2014-01-10T00:00:00.000Z">{number.removeprefix("ISRCTN")}</isrctn>'
        f"<trialDescription>{_xml('title', title)}{_xml('scientificTitle', scientific_title)}"
        f"{_xml('plainEnglishSummary', 'Background and study aims: an invented summary.')}</trialDescription>"
        f"<externalRefs><doi>10.1186/{number}</doi></externalRefs>"
        f"<trialDesign>{_xml('primaryStudyDesign', 'Interventional')}{_xml('overallStatusOverride', status_override)}"
        f"{_xml('reasonAbandoned', reason_abandoned)}{_xml('overallStartDate', start)}{_xml('overallEndDate', end)}"
        f"</trialDesign>"
        f"<participants>{_xml('targetEnrolment', target)}{_xml('totalFinalEnrolment', final)}"
        f"{_xml('recruitmentStart', recruitment_start)}{_xml('recruitmentEnd', recruitment_end)}"
        f"<recruitmentStatusOverride/></participants>"
        f"<conditions>{condition_elements}</conditions><interventions>{intervention_elements}</interventions>"
        f"<results>{_xml('publicationStage', 'Completed' if outputs else 'Not yet published')}</results>"
        f"<outputs>{output_elements}</outputs></trial>"
        f'<sponsor id="s1">{_xml("organisation", sponsor)}{_xml("sponsorType", sponsor_type)}</sponsor>'
        f'<funder id="f1"><name>An invented research charity</name></funder></fullTrial>'
    )


def _xml(name: str, value: object) -> str:
    return f"<{name}>{escape(str(value))}</{name}>" if value is not None else f"<{name}/>"


def isrctn_answer(trials: Iterable[str], total: int | None = None) -> bytes:
    """An `allTrials` answer holding these `fullTrial` elements (`total`: the matches it says there are)."""
    listed = list(trials)
    count = len(listed) if total is None else total
    return (f'<?xml version="1.0" encoding="UTF-8"?><allTrials xmlns="{ISRCTN_NS}" totalCount="{count}">'
            f"{''.join(listed)}</allTrials>").encode()


class LocalIsrctn:
    """An ISRCTN query API stand-in on loopback: `GET /api/query/format/default?q=...` answers with the
    trials a test added whose number is in `q` (an empty `allTrials` for the others). A test may
    make every answer a given status or body instead (429, hostile XML, ...)."""

    PATH = "/api/query/format/default"

    def __init__(self) -> None:
        self.trials: dict[str, str] = {}  # "12345678" -> its fullTrial element
        self.requests: list[str] = []  # path and query of each request
        self.user_agents: list[str | None] = []
        self.override: tuple[int, bytes, dict[str, str]] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests.append(self.path)
                server.user_agents.append(self.headers.get("User-Agent"))
                status, body, headers = server.answer(self.path)
                self.send_response(status)
                for name, value in {"Content-Type": "application/xml;charset=UTF-8", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, trial: str) -> None:
        number = trial.split("<isrctn", 1)[1].split(">", 1)[1].split("<", 1)[0]
        self.trials[number] = trial

    def answer_all(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Every request from now on gets this status and body."""
        self.override = (status, body, headers or {})

    def answer(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        if self.override is not None:
            return self.override
        parts = urlsplit(path)
        if parts.path != self.PATH:
            return 404, b"<html><body>not found</body></html>", {"Content-Type": "text/html"}
        query = " ".join(parse_qs(parts.query).get("q", []))
        return 200, isrctn_answer(trial for number, trial in self.trials.items() if number in query), {}

    @property
    def queries(self) -> list[dict[str, list[str]]]:
        """Each request's query parameters."""
        return [parse_qs(urlsplit(path).query) for path in self.requests]


@pytest.fixture
def isrctn() -> Iterator[LocalIsrctn]:
    registry = LocalIsrctn()
    registry.thread.start()
    yield registry
    registry.server.shutdown()
    registry.server.server_close()


@dataclass(frozen=True)
class CompressionBombs:
    decoded_bytes: int
    brotli: bytes  # Content-Encoding: br
    double_gzip: bytes  # Content-Encoding: gzip, gzip
    gzip: bytes  # Content-Encoding: gzip


@pytest.fixture(scope="session")
def compression_bombs() -> CompressionBombs:
    """Bodies of a few KB (the double gzip) to 500 KB (one gzip) that all decode to 512 MB of zeros."""
    import brotli

    megabyte, count = b"\0" * (1 << 20), 512
    compressor = brotli.Compressor(quality=5)
    brotli_bomb = b"".join([compressor.process(megabyte) for _ in range(count)] + [compressor.finish()])
    deflater = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    gzip_bomb = b"".join([deflater.compress(megabyte) for _ in range(count)] + [deflater.flush()])
    return CompressionBombs(count << 20, brotli_bomb, gzip.compress(gzip_bomb, 9), gzip_bomb)


def article_html(title: str, body_text: str, *, published: str | None = "2026-03-14", extra: str = "") -> str:
    """A realistic article page around `body_text` (paragraphs split on blank lines)."""
    paragraphs = "\n".join(f"<p>{p.strip()}</p>" for p in body_text.split("\n") if p.strip())
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{meta}</head>
<body><header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About</a></nav></header>
<main><article><h1>{title}</h1>{paragraphs}</article></main>{extra}
<footer><p>Copyright 2026 Example Health Media. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>"""


def hostile_article_pages(title: str, texts: list[str]) -> dict[str, bytes]:
    """Article pages a browser shows normally but that libxml2's defaults lose or choke on, one per
    text of `texts` (4): a NUL byte in the head, the article under 300 nested <div>s, UTF-16 with
    its byte-order mark (and a <meta> saying so), and one element of 100,000 attributes before it."""
    nul, nested, utf16, attributes = (article_html(f"{title} {n}", text) for n, text in enumerate(texts))
    many = "<div " + " ".join(f'a{n}="v"' for n in range(100_000)) + ">x</div>"
    return {
        "nul": nul.replace("</title>", "</title>\x00", 1).encode(),
        "nested": nested.replace("<main>", "<div>" * 300 + "<main>").replace("</main>", "</main>" + "</div>" * 300).encode(),
        "utf16": utf16.replace('<meta charset="utf-8">', '<meta charset="utf-16">').encode("utf-16"),
        "attributes": attributes.replace("<main>", many + "<main>").encode(),
    }


# ---------------------------------------------------------------- news aggregators' links
def _protobuf_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def google_news_link(inner: str, amp: str = "") -> str:
    """A Google News RSS article link in the older form: a base64url protobuf message whose field 4
    is `inner` (the publisher's URL, or in the newer form an opaque token), field 26 an AMP URL."""
    data = inner.encode()
    message = b"\x08\x13\x22" + _protobuf_varint(len(data)) + data + b"\xd2\x01" + _protobuf_varint(len(amp)) + amp.encode()
    article_id = base64.urlsafe_b64encode(message).decode().rstrip("=")
    return f"https://news.google.com/rss/articles/{article_id}?oc=5"


def bing_link(publisher: str) -> str:
    # Bing writes the publisher's URL percent-encoded in lower case, among tracking parameters.
    encoded = quote(publisher, safe="").replace("%3A", "%3a").replace("%2F", "%2f")
    return f"http://www.bing.com/news/apiclick.aspx?ref=FexRss&aid=&tid=6A1B&url={encoded}&c=1234567&mkt=en-gb"


def processes() -> dict[int, tuple[str, int, int]]:
    """Every process of this machine: pid -> (state, parent pid, process group)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            found[int(entry)] = (fields[0].decode(), int(fields[1]), int(fields[2]))
    return found


def children_of(parent: int) -> list[int]:
    """The processes `parent` started (a crawl's parent: its crawl process)."""
    return [pid for pid, (_, ppid, _) in processes().items() if ppid == parent]


def live_group(group: int) -> list[int]:
    """The processes of a process group that still run (zombies run nothing)."""
    return [pid for pid, (state, _, pgid) in processes().items() if pgid == group and state != "Z"]


def articles_fetched(requests: Iterable[str]) -> int:
    """How many of the demo site's articles (not its index, feed or sitemap) a crawl has requested."""
    return sum(path.endswith(".html") and path.count("/") > 1 for path in requests)


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    """Poll `condition` until it returns something truthy (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- databases
def _postgres_server_url() -> str:
    configured = os.environ.get("HYPEWATCH_DATABASE_URL", "")
    if configured.startswith("postgresql"):
        return configured
    return os.environ.get("HYPEWATCH_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = _postgres_server_url()
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}; "
                    f"PostgreSQL storage tests skipped ({type(exc.orig).__name__})")
    finally:
        engine.dispose()
    return url


def _fresh_postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    name = f"hw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def _wants_postgres_everywhere() -> bool:
    return os.environ.get("HYPEWATCH_DATABASE_URL", "").startswith("postgresql")


@pytest.fixture
def database_url(request, tmp_path) -> Iterator[str]:
    """A fresh empty database URL ("sqlite" unless parametrised with "postgresql")."""
    backend = getattr(request, "param", "postgresql" if _wants_postgres_everywhere() else "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'hypewatch.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url, drop = _fresh_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop()


# ---------------------------------------------------------------- model and app
@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A model trained once per session from seeds/ (the slowest fixture; shared)."""
    home = tmp_path_factory.mktemp("model-home")
    settings = Settings.from_environ({"HYPEWATCH_HOME": str(home), "HYPEWATCH_SEEDS": str(SEEDS_DIR),
                                       "HYPEWATCH_REGISTRY_URL": "off", "HYPEWATCH_ISRCTN_URL": "off"})
    Hypewatch(settings).train()
    return settings.model_dir


@pytest.fixture
def home(tmp_path, model_dir) -> Path:
    """A private HYPEWATCH_HOME holding a copy of the session's trained model."""
    path = tmp_path / "home"
    shutil.copytree(model_dir, path / "models")
    return path


@pytest.fixture
def settings(home, database_url) -> Settings:
    return Settings.from_environ({
        "HYPEWATCH_HOME": str(home),
        "HYPEWATCH_DATABASE_URL": database_url,
        "HYPEWATCH_SEEDS": str(SEEDS_DIR),
        "HYPEWATCH_REGISTRY_URL": "off",  # tests never leave loopback: a test wanting one uses `registry`
        "HYPEWATCH_ISRCTN_URL": "off",  # ... or `isrctn`
    })


@pytest.fixture
def app(settings) -> Iterator[Hypewatch]:
    application = Hypewatch(settings)
    yield application
    if "database" in application.__dict__:
        application.database.close()


@pytest.fixture
def cli_env(settings) -> dict[str, str]:
    """The environment a user would run the CLI with, pointing at this test's home and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPEWATCH_")}
    env.update({
        "HYPEWATCH_HOME": str(settings.home),
        "HYPEWATCH_DATABASE_URL": settings.database_url,
        "HYPEWATCH_SEEDS": str(settings.seeds_dir),
        "HYPEWATCH_REGISTRY_URL": settings.registry_url or "off",
        "HYPEWATCH_ISRCTN_URL": settings.isrctn_url or "off",
        "COLUMNS": "120",
    })
    return env


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(cli_env) -> Callable[..., CliResult]:
    """Run `hypewatch ARGS` in a real subprocess, as a user would."""

    def run(*args: str, input: str | bytes | None = None, timeout: float = 180, env: dict | None = None) -> CliResult:
        data = input.encode("utf-8") if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "hypewatch", *args], input=data, capture_output=True,
            env={**cli_env, **(env or {})}, timeout=timeout, cwd=PROJECT_ROOT,
        )
        return CliResult(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))

    return run


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@dataclass(frozen=True)
class MeasuredRun:
    result: CliResult
    peak_rss_mb: float
    seconds: float


@pytest.fixture
def run_cli_measured(cli_env) -> Callable[..., MeasuredRun]:
    """Run `hypewatch ARGS` in a real subprocess; report its own peak RSS and wall time.

    The peak comes from wait4 through `tests/peak_rss.py`: straight from this process, the
    command's ru_maxrss would include this test process's own memory. A run going past `timeout`
    is killed (and reported as such: exit code -9)."""

    def run(*args: str, timeout: float = 120, env: dict | None = None) -> MeasuredRun:
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                tempfile.TemporaryDirectory() as scratch:
            report = Path(scratch) / "peak-rss"
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "tests.peak_rss", str(report),
                                     sys.executable, "-m", "hypewatch", *args], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, env={**cli_env, **(env or {})}, cwd=PROJECT_ROOT,
                                    start_new_session=True)
            killer = threading.Timer(timeout, _kill_group, (proc.pid,))
            killer.start()
            try:
                proc.wait()
            finally:
                killer.cancel()
            seconds = time.monotonic() - started
            out.seek(0)
            err.seek(0)
            result = CliResult(proc.returncode, out.read().decode("utf-8", "replace"),
                               err.read().decode("utf-8", "replace"))
            peak_kib = int(report.read_text("ascii")) if report.exists() else 0
        return MeasuredRun(result, peak_kib / 1024, seconds)  # ru_maxrss is in KiB on Linux

    return run


# ---------------------------------------------------------------- dashboard data
XSS_TITLE = '<script>window.__pwned = "title"</script><img src=x onerror="window.__pwned = \'img\'">Miracle cure'
XSS_URL = "javascript:window.__pwned='url'//stem-cell-cure"
XSS_TEXT = (
    "Our clinic cures multiple sclerosis with stem cells <script>window.__pwned = 'text'</script>. "
    "Patients walk again after one injection of mesenchymal stem cells <img src=x onerror=\"window.__pwned='img2'\">.\n"
    "Book your consultation today: treatment packages start at $15,000 and there are no side effects at all.\n"
    "\"I was in a wheelchair and now I run marathons\" says Sarah, one of our patients <a href=\"javascript:alert(1)\">link</a>."
)


@dataclass(frozen=True)
class DashboardDataset:
    settings: Settings
    page_ids: list[int]
    xss_page_id: int
    versioned_page_id: int
    domains: list[str]


def _store_dashboard_dataset(settings: Settings, n_documents: int = 48) -> DashboardDataset:
    """Score corpus documents with the real model and store them as crawled pages: spread over
    30 weeks, six domains and two sources, one page with two versions, three crawl runs, and a
    page whose title, text and URL carry script payloads."""
    import datetime as dt

    from classifier.corpus import load_corpus
    from storage.documents import ExtractedDocument, PredictionScores
    from storage.repository import upsert_source
    from storage.runs import RunCounts, finish_crawl_run, start_crawl_run
    from storage.writes import store_document, store_prediction

    app = Hypewatch(settings)
    corpus = load_corpus(settings.seeds_dir)
    documents = [d for d in corpus.documents if d.relevant][: n_documents - 6] + \
                [d for d in corpus.documents if not d.relevant][:6]
    scores = app.model.score_many([d.text for d in documents])
    domains = ["stemcell-hope.example", "ms-news.example", "clinic-abroad.example", "ms-society.example",
               "patient-forum.example", "health-daily.example"]
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    page_ids = []
    with app.database.session() as session:
        app.register_model(session)
        news = upsert_source(session, "health-news", "feed", {"start_urls": ["https://ms-news.example/feed"]})
        clinics = upsert_source(session, "clinic-watch", "site", {"start_urls": ["https://clinic-abroad.example/"]})
        for i, (doc, score) in enumerate(zip(documents, scores, strict=True)):
            domain = domains[i % len(domains)]
            title = doc.text.split("\n", 1)[0][:200]
            stored = store_document(session, ExtractedDocument(
                url=f"https://{domain}/articles/{doc.id}", domain=domain, text=doc.text, title=title,
                published=today - dt.timedelta(days=(i * 37) % 210), language="en",
                fetched_at=now - dt.timedelta(days=1),
            ), source_id=(news if i % 2 else clinics).id)
            store_prediction(session, stored.version_id, PredictionScores.from_dict(score.to_dict()))
            page_ids.append(stored.page_id)
        # A page that changed: its second version adds a cure claim.
        first = documents[0]
        changed_text = first.text + "\nUpdate: our new protocol now reverses MS in nine of ten patients."
        version = store_document(session, ExtractedDocument(
            url=f"https://{domains[0]}/articles/{first.id}", domain=domains[0], text=changed_text,
            title=first.text.split("\n", 1)[0][:200], published=today, fetched_at=now,
        ), source_id=clinics.id)
        store_prediction(session, version.version_id, PredictionScores.from_dict(app.model.score(changed_text).to_dict()))
        xss = store_document(session, ExtractedDocument(
            url=XSS_URL, domain="evil.example", text=XSS_TEXT, title=XSS_TITLE, published=today,
            author='<b onmouseover="window.__pwned=\'author\'">Dr Evil</b>', fetched_at=now,
        ), source_id=clinics.id)
        store_prediction(session, xss.version_id, PredictionScores.from_dict(app.model.score(XSS_TEXT).to_dict()))
        for name, status, counts in (
            ("health-news", "ok", RunCounts(pages_fetched=30, pages_new=24, pages_unchanged=6,
                                            dropped={"not-relevant": 3}, errors={"http-404": 2})),
            ("clinic-watch", "failed", RunCounts(pages_fetched=1, errors={"dns": 1})),
        ):
            run = start_crawl_run(session, name)
            finish_crawl_run(session, run.id, status, counts, message="connection refused" if status == "failed" else None)
    app.database.close()
    return DashboardDataset(settings, page_ids, xss.page_id, version.page_id, domains)


@pytest.fixture(scope="session")
def dashboard_dataset(request, tmp_path_factory, model_dir) -> DashboardDataset:
    """A session-wide SQLite database of scored, realistic pages for dashboard tests (read it, or
    add labels; do not delete). With HYPEWATCH_DATABASE_URL set to PostgreSQL it is made there."""
    home = tmp_path_factory.mktemp("dashboard-home")
    shutil.copytree(model_dir, home / "models")
    database_url = f"sqlite:///{home / 'hypewatch.db'}"
    if _wants_postgres_everywhere():
        database_url, drop = _fresh_postgres_database(request.getfixturevalue("postgres_admin_url"))
        request.addfinalizer(drop)
    settings = Settings.from_environ({
        "HYPEWATCH_HOME": str(home), "HYPEWATCH_SEEDS": str(SEEDS_DIR), "HYPEWATCH_DATABASE_URL": database_url,
        "HYPEWATCH_REGISTRY_URL": "off", "HYPEWATCH_ISRCTN_URL": "off",
    })
    return _store_dashboard_dataset(settings)


# ---------------------------------------------------------------- a real browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright (skipped where it is not installed; CI installs it)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        reason = "headless Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the browser tests")  # .ci/run installs it
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# ---------------------------------------------------------------- demo site
@pytest.fixture
def demo_site():
    """The demo website built from seeds/ (crawler.demo_site), on a free loopback port."""
    from crawler.demo_site import serve_demo_site

    with serve_demo_site(SEEDS_DIR, slow_seconds=3.0) as site:
        yield site


# ---------------------------------------------------------------- a writable dashboard dataset
@pytest.fixture
def writable_dashboard_dataset(dashboard_dataset, database_url, tmp_path) -> DashboardDataset:
    """A private copy of `dashboard_dataset` a test may write to: a copy of the SQLite file, or (on
    PostgreSQL) the same data stored afresh in this test's own database."""
    import dataclasses

    if dashboard_dataset.settings.is_sqlite:
        copy = tmp_path / "dashboard-copy.db"
        shutil.copy(dashboard_dataset.settings.database_url.removeprefix("sqlite:///"), copy)
        return dataclasses.replace(dashboard_dataset,
                                   settings=dashboard_dataset.settings.with_overrides(database_url=f"sqlite:///{copy}"))
    return _store_dashboard_dataset(dashboard_dataset.settings.with_overrides(database_url=database_url))


# ---------------------------------------------------------------- probes: canary, a "public" site, the report
PUBLIC_LOOPBACK = "127.0.0.2"  # the probes' stand-in for a public address (see tests/probe_netguard.py)
PROBE_REPORT = PROJECT_ROOT / "tests" / "benchmarks" / "reports" / "probes.json"


class Canary:
    """A loopback HTTP server (on 127.0.0.1 and on ::1) that must never be reached: it counts every
    connection made to it, whether or not a request follows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits = 0
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def setup(self) -> None:
                with canary._lock:
                    canary._hits += 1
                super().setup()

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = b"<html><body><p>canary: you should not be here</p></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_POST = do_GET  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        class V6Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        self.servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler), V6Server(("::1", 0), Handler)]
        for server in self.servers:
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.servers[0].server_address[1])

    @property
    def port6(self) -> int:
        return int(self.servers[1].server_address[1])

    @property
    def hits(self) -> int:
        with self._lock:
            return self._hits

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="session")
def canary() -> Iterator[Canary]:
    server = Canary()
    yield server
    server.close()


@pytest.fixture(scope="session")
def public_site() -> Iterator[LocalSite]:
    """A LocalSite on PUBLIC_LOOPBACK, which the probes' address check treats as a public address."""
    site = LocalSite(PUBLIC_LOOPBACK)
    site.thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture(scope="session")
def probe_report() -> Iterator[dict[str, dict]]:
    """The probes' figures: each probe adds {name: {figure: value}} (before asserting on them); at the
    end of the session they are merged into tests/benchmarks/reports/probes.json (git-ignored), each
    with the time it was measured, beside the figures of probes this session did not run."""
    import datetime as dt
    import json
    import platform

    figures: dict[str, dict] = {}
    yield figures
    if not figures:
        return
    PROBE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    # pytest-xdist's workers each end their own session: the lock keeps one from overwriting another's figures.
    with open(PROBE_REPORT.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:  # a session running some of the probes keeps the others' last figures
            earlier = json.loads(PROBE_REPORT.read_text(encoding="utf-8")).get("probes", {})
        except (OSError, ValueError, AttributeError):
            earlier = {}
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for entry in figures.values():
            entry["measured_at"] = now
        report = {"written_at": now, "python": platform.python_version(), "cpus": os.cpu_count(),
                  "probes": {**earlier, **figures}}
        PROBE_REPORT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- alert receivers
@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: object  # email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])  # type: ignore[index]

    def part(self, content_type: str) -> str:
        """The body part of this type (text/plain or text/html), decoded."""
        for part in self.message.walk():  # type: ignore[attr-defined]
            if part.get_content_type() == content_type:
                return part.get_content()
        raise AssertionError(f"no {content_type} part in {self.subject!r}")


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it is sent; it accepts
    AUTH PLAIN/LOGIN without TLS, with any password."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
                import email
                import email.policy

                message = email.message_from_bytes(envelope.original_content or envelope.content,
                                                   policy=email.policy.default)
                with receiver._lock:
                    receiver.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, auth_require_tls=False,
                                     authenticator=lambda *args: AuthResult(success=True))
        self.controller.start()

    def url(self, *, user: str = "hw", password: str = "pw", to: str = "analysts@example.org") -> str:
        """The Apprise URL of this server."""
        return (f"mailto://localhost:{self.port}?user={user}&pass={password}&to={to}"
                f"&from=hypewatch@example.org&mode=insecure")

    def received(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self.messages)

    def close(self) -> None:
        if self.controller._thread is not None:  # not stopped already (a test may stop it early)
            self.controller.stop()


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    yield server
    server.close()


@dataclass(frozen=True)
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: dict


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 receiving JSON webhooks (Apprise's json://): it records each
    request when it arrives, then answers 200. `hold_request(n)` makes the n-th request (from 1)
    wait for `release()` before it is answered."""

    def __init__(self) -> None:
        import json as json_module

        self.requests: list[ReceivedHook] = []
        self._lock = threading.Lock()
        self.hold_at: int | None = None
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(ReceivedHook(self.path, dict(self.headers.items()),
                                                          json_module.loads(body or b"{}")))
                    number = len(receiver.requests)
                if number == receiver.hold_at:
                    receiver.released.wait(60)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}{path}"

    def received(self) -> list[ReceivedHook]:
        with self._lock:
            return list(self.requests)

    def hold_request(self, number: int) -> None:
        self.hold_at = number

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()
