"""A hostile web server for the probes, after Scrapy's mock server (tests/mockserver.py there): a
real HTTP server on loopback, in threads of the test process, that misbehaves on purpose and
records what the client did. It listens on three loopback addresses, which a crawler treats as
three sites (robots.txt and concurrency are per host):

- MAIN (127.0.0.3): an index page linking to every hostile route below, to a few real articles
  (also under session ids), to a calendar spider trap and to a path robots.txt disallows;
- ROBOTS_5XX (127.0.0.4): robots.txt answers 500 (so the whole site must be left alone);
- CRAWL_DELAY (127.0.0.5): robots.txt asks for a Crawl-delay, over a handful of articles.

Every request is recorded (host, path, start, end, status), and so are the connections open at
once per host and the requests in flight at once per host. The server learns late that a client
closed a connection it is still writing to, so `ClientConnections` also counts them from the
client's side: the established TCP connections to each site, read from /proc/net/tcp.
"""

from __future__ import annotations

import itertools
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAIN, ROBOTS_5XX, CRAWL_DELAY = "127.0.0.3", "127.0.0.4", "127.0.0.5"
RETRY_AFTER = 2  # seconds a 429 or 503 asks the whole site to wait
CRAWL_DELAY_SECONDS = 1
BIG_BYTES = 50 * 1024 * 1024
DRIP_INTERVAL = 0.2  # seconds between two bytes of the endless drip
ARTICLES = 5
SESSION_FORMS = ("/articles/{n};jsessionid=S{k}", "/articles/{n}?sid=S{k}", "/articles/{n}?PHPSESSID=S{k}")

ARTICLE_TEXT = (
    "Researchers reviewed autologous haematopoietic stem cell transplantation for multiple sclerosis in a trial.\n"
    "The trial followed {n} hundred patients for five years and reported relapse rates and side effects.\n"
    "Neurologists said the results of the stem cell treatment are promising but need confirmation in larger "
    "studies, and warned patients against clinics abroad that sell unproven stem cell injections for thousands."
)

# The hostile routes of MAIN, with what each does (the probes name them in their figures).
HOSTILE_ROUTES = {
    "/error/500": "answers 500",
    "/error/503": f"answers 503 with Retry-After: {RETRY_AFTER}",
    "/slow-down/429": f"answers 429 with Retry-After: {RETRY_AFTER}",
    "/drop": "sends part of the body, then resets the connection",
    "/truncated": "declares a Content-Length larger than what it sends, then closes",
    "/drip": f"sends one byte every {DRIP_INTERVAL} s, for ever",
    "/bomb/br": "a brotli body of a few KB decoding to 512 MB",
    "/bomb/gzip-gzip": "a doubly-gzipped body of a few KB decoding to 512 MB",
    "/bomb/gzip": "a gzip body of 500 KB decoding to 512 MB",
    "/big": "a 50 MB page with its Content-Length",
    "/big-streamed": "a 50 MB page without a Content-Length",
    "/calendar/2026-01": "a calendar whose every month links to the next, the previous and the next year's months",
    "/session/": "links to each article under session ids (;jsessionid=, ?sid=, ?PHPSESSID=)",
}


@dataclass(frozen=True)
class Hit:
    host: str
    path: str
    started: float  # time.monotonic() when the request arrived
    ended: float  # when its answer was sent (or the client went away)
    status: int


@dataclass
class HostCounts:
    connections: int = 0
    max_connections: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


@dataclass
class Bombs:
    brotli: bytes
    double_gzip: bytes
    gzip: bytes


def page(title: str, body: str, links: list[tuple[str, str]] = ()) -> bytes:  # type: ignore[assignment]
    paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n") if line)
    anchors = " ".join(f'<a href="{href}">{text}</a>' for href, text in links)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            '<meta property="article:published_time" content="2026-03-14"></head><body>'
            f"<main><article><h1>{title}</h1>{paragraphs}</article></main><nav>{anchors}</nav></body></html>"
            ).encode()


def article(n: int) -> bytes:
    return page(f"Stem cell transplantation for multiple sclerosis, report {n}", ARTICLE_TEXT.format(n=n))


def month_links(month: str) -> list[tuple[str, str]]:
    year, number = (int(part) for part in month.split("-"))
    index = year * 12 + number - 1

    def name(i: int) -> str:
        return f"{i // 12:04d}-{i % 12 + 1:02d}"

    months = [index - 1, index + 1, *range(index + 12 - number + 1, index + 24 - number + 1)]
    return [(f"/calendar/{name(i)}", f"Stem cell news archive {name(i)}") for i in months]


class HostileServer:
    """Start with `start()`, stop with `close()`; read `hits` and `counts` in between."""

    def __init__(self, bombs: Bombs) -> None:
        self.bombs = bombs
        self.hits: list[Hit] = []
        self.counts: dict[str, HostCounts] = {}
        self._lock = threading.Lock()
        self.servers = {host: self._server(host) for host in (MAIN, ROBOTS_5XX, CRAWL_DELAY)}

    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.servers[host].server_address[1]}{path}"

    def start(self) -> None:
        for server in self.servers.values():
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()

    def hits_of(self, host: str, since: float = 0.0) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.host == host and hit.started >= since]

    # ------------------------------------------------------------ bookkeeping
    def _count(self, host: str, what: str, step: int) -> None:
        with self._lock:
            counts = self.counts.setdefault(host, HostCounts())
            value = getattr(counts, what) + step
            setattr(counts, what, value)
            if value > getattr(counts, "max_" + what):
                setattr(counts, "max_" + what, value)

    def _server(self, host: str) -> ThreadingHTTPServer:
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                hostile._count(host, "connections", 1)
                super().setup()

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    hostile._count(host, "connections", -1)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                started = time.monotonic()
                hostile._count(host, "in_flight", 1)
                status = 0
                try:
                    status = hostile._answer(self, host, self.path)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    hostile._count(host, "in_flight", -1)
                    with hostile._lock:
                        hostile.hits.append(Hit(host, self.path, started, time.monotonic(), status))

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer((host, 0), Handler)
        server.daemon_threads = True
        return server

    # ------------------------------------------------------------ answers
    def _answer(self, handler: BaseHTTPRequestHandler, host: str, path: str) -> int:
        if path == "/robots.txt":
            robots = {MAIN: b"User-agent: *\nDisallow: /private/\n",
                      CRAWL_DELAY: f"User-agent: *\nCrawl-delay: {CRAWL_DELAY_SECONDS}\n".encode()}
            if host == ROBOTS_5XX:
                return _send(handler, 500, b"robots.txt is down", "text/plain")
            return _send(handler, 200, robots[host], "text/plain")
        if host != MAIN:
            if path == "/":
                links = [(f"/articles/{n}", f"Stem cell therapy for multiple sclerosis {n}") for n in range(ARTICLES)]
                return _send(handler, 200, page("Stem cell news", ARTICLE_TEXT.format(n=0), links))
            if path.startswith("/articles/"):
                return _send(handler, 200, article(100 + sum(path.encode())))
            return _send(handler, 404, b"not found")
        route = self._routes().get(path.split("?", 1)[0].split(";", 1)[0])
        if route is None and path.startswith("/calendar/"):
            month = path.removeprefix("/calendar/")
            return _send(handler, 200, page(f"Archive {month}", "Nothing happened this month.", month_links(month)))
        if route is None:
            return _send(handler, 404, b"not found")
        return route(handler)

    def _routes(self) -> dict[str, Callable[[BaseHTTPRequestHandler], int]]:
        bombs = self.bombs
        routes: dict[str, Callable[[BaseHTTPRequestHandler], int]] = {
            "/": lambda h: _send(h, 200, self._index()),
            "/private/secret": lambda h: _send(h, 200, article(99)),
            "/error/500": lambda h: _send(h, 500, b"<html><body>internal error</body></html>"),
            "/error/503": lambda h: _send(h, 503, b"busy", headers={"Retry-After": str(RETRY_AFTER)}),
            "/slow-down/429": lambda h: _send(h, 429, b"slow down", headers={"Retry-After": str(RETRY_AFTER)}),
            "/drop": _drop,
            "/truncated": _truncated,
            "/drip": _drip,
            "/bomb/br": lambda h: _send(h, 200, bombs.brotli, headers={"Content-Encoding": "br"}),
            "/bomb/gzip-gzip": lambda h: _send(h, 200, bombs.double_gzip, headers={"Content-Encoding": "gzip, gzip"}),
            "/bomb/gzip": lambda h: _send(h, 200, bombs.gzip, headers={"Content-Encoding": "gzip"}),
            "/big": lambda h: _stream_big(h, declared=True),
            "/big-streamed": lambda h: _stream_big(h, declared=False),
            "/session/": lambda h: _send(h, 200, page("Stem cell clinic sessions", ARTICLE_TEXT.format(n=7), [
                (form.format(n=n, k=k), f"Stem cell treatment {n}")
                for n in range(ARTICLES) for k in range(4) for form in SESSION_FORMS])),
        }
        routes.update({f"/articles/{n}": (lambda h, n=n: _send(h, 200, article(n))) for n in range(ARTICLES)})
        return routes

    def _index(self) -> bytes:
        links = [(route, f"Stem cell therapy for multiple sclerosis: {route}") for route in HOSTILE_ROUTES]
        links += [(f"/articles/{n}", f"Stem cell therapy for multiple sclerosis {n}") for n in range(ARTICLES)]
        links.append(("/private/secret", "Stem cell therapy for multiple sclerosis, members only"))
        return page("Stem cell news for multiple sclerosis", ARTICLE_TEXT.format(n=1), links)


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "text/html; charset=utf-8",
          headers: dict[str, str] | None = None) -> int:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    return status


def _drop(handler: BaseHTTPRequestHandler) -> int:
    body = article(42)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2])
    handler.wfile.flush()
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close: RST
    handler.connection.close()
    handler.close_connection = True
    return 200


def _truncated(handler: BaseHTTPRequestHandler) -> int:
    body = article(43)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body) * 10))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)
    handler.close_connection = True
    return 200


def _drip(handler: BaseHTTPRequestHandler) -> int:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    try:
        for byte in itertools.cycle(article(44)):
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            if _client_left(handler.connection, DRIP_INTERVAL):
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    return 200


def _client_left(connection: socket.socket, wait: float) -> bool:
    """Wait up to `wait` seconds; True as soon as the client has closed its end (so the connection
    counts are not inflated by a connection the client gave up on while the server sleeps)."""
    readable, _, _ = select.select([connection], [], [], wait)
    if not readable:
        return False
    try:
        return connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _stream_big(handler: BaseHTTPRequestHandler, *, declared: bool) -> int:
    head, tail = article(45).split(b"</article>", 1)
    filler = b"<p>" + b"stem cell filler text " * 45_000 + b"</p>\n"  # about 1 MB
    chunks = BIG_BYTES // len(filler)
    size = len(head) + chunks * len(filler) + len(b"</article>") + len(tail)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    if declared:
        handler.send_header("Content-Length", str(size))
    else:
        handler.send_header("Connection", "close")
        handler.close_connection = True
    handler.end_headers()
    try:
        for part in itertools.chain([head], itertools.repeat(filler, chunks), [b"</article>", tail]):
            handler.wfile.write(part)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return 200


class ClientConnections:
    """Samples, every `interval` seconds, the machine's established TCP connections whose far end
    is one of `server`'s sites (the client's side of each connection), keeping the most seen at
    once per site. A context manager: sampling runs inside the `with` block."""

    def __init__(self, server: HostileServer, interval: float = 0.01) -> None:
        self.interval = interval
        self.sites = {_proc_net_address(host, s.server_address[1]): host for host, s in server.servers.items()}
        self.max: dict[str, int] = dict.fromkeys(server.servers, 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ClientConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            counts = dict.fromkeys(self.max, 0)
            with open("/proc/net/tcp", encoding="ascii") as table:
                next(table)
                for line in table:
                    fields = line.split()
                    host = self.sites.get(fields[2])
                    if host is not None and fields[3] == "01":  # rem_address, st: ESTABLISHED
                        counts[host] += 1
            for host, count in counts.items():
                self.max[host] = max(self.max[host], count)
            self.samples += 1
            self._stop.wait(self.interval)


def _proc_net_address(host: str, port: int) -> str:
    """How /proc/net/tcp writes an IPv4 address and port: the address's bytes in little-endian hex."""
    return f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"

