"""`hypewatch check` end to end: real subprocesses, a real local HTTP server, a real database."""

import json

import pytest
from conftest import HOSTILE_URLS, SEEDS_DIR, article_html, hostile_article_pages
from sqlalchemy import func, select

from storage.db import Database
from storage.models import DocumentVersion, Page, Prediction

SIGNALS = {"cure_claim", "clinic_promotion", "missing_trial_reference", "testimonial", "risk_minimisation"}
COUNTERS = {"trial_reference", "risk_disclosure", "regulatory_status", "hedging"}
CLINIC_TEXT = (SEEDS_DIR / "docs" / "001_7d7ce66c201201cd.txt").read_text(encoding="utf-8")


@pytest.fixture
def clinic_url(local_site):
    return local_site.add("/check/clinic", article_html("How Effective Is MS Treatment With Stem Cells?", CLINIC_TEXT))


def assert_schema(result: dict) -> None:
    assert set(result) == {"target", "url", "title", "published", "extraction", "text", "relevance", "relevant",
                           "hype_score", "signals", "counter_signals", "model_version", "cited_trials"}
    assert result["extraction"]["status"] == "ok" and result["extraction"]["chars"] == len(result["text"])
    assert set(result["signals"]) == SIGNALS and set(result["counter_signals"]) == COUNTERS
    assert 0 <= result["hype_score"] <= 100 and 0 <= result["relevance"] <= 1
    for signal in result["signals"].values():
        assert set(signal) == {"probability", "flagged", "evidence"}
        for evidence in signal["evidence"]:
            assert result["text"][evidence["start"]:evidence["end"]] == evidence["text"]
    for counter in result["counter_signals"].values():
        assert set(counter) == {"present", "evidence"}


def test_check_url_reports_hype_with_evidence(run_cli, clinic_url):
    result = run_cli("check", "--json", "--allow-private", clinic_url)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert_schema(report)
    assert report["url"] == clinic_url and report["title"] == "How Effective Is MS Treatment With Stem Cells?"
    assert report["published"] == "2026-03-14"
    assert report["relevant"] and report["hype_score"] >= 50
    flagged = {name for name, s in report["signals"].items() if s["flagged"]}
    assert {"cure_claim", "clinic_promotion"} <= flagged
    assert all(report["signals"][name]["evidence"] for name in flagged)


def test_check_file_and_stdin(run_cli, tmp_path):
    html_file = tmp_path / "page.html"
    html_file.write_text(article_html("Clinic page", CLINIC_TEXT), encoding="utf-8")
    text_file = SEEDS_DIR / "docs" / "002_2e031bdff61a7485.txt"
    result = run_cli("check", "--json", str(html_file), str(text_file))
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["target"] for r in lines] == [str(html_file), str(text_file)]
    assert lines[0]["url"] is None and lines[1]["title"] == "80% of MS Patients Disease-Free After Stem Cell Study"
    for line in lines:
        assert_schema(line)

    piped = run_cli("check", "--json", "-", input=CLINIC_TEXT)
    assert piped.exit_code == 0, piped.stderr
    assert_schema(json.loads(piped.stdout))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "utf-32", "iso-8859-15"])
def test_a_text_file_in_another_encoding_is_read_as_a_browser_reads_it(run_cli, tmp_path, encoding):
    """UTF-16/32 and UTF-8 with a byte-order mark, and an 8-bit encoding without one."""
    text = CLINIC_TEXT + "\nThe course costs 9 500 € in all."
    path = tmp_path / f"{encoding}.txt"
    path.write_bytes(text.encode(encoding, "replace"))
    result = run_cli("check", "--json", str(path))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert "cure_claim" in {name for name, s in report["signals"].items() if s["flagged"]}
    if encoding.startswith("utf"):  # the byte-order mark settles it: the very text (an 8-bit guess may differ on "€")
        reference = json.loads(run_cli("check", "--json", "-", input=text).stdout)
        assert report["hype_score"] == reference["hype_score"]


def test_pages_a_browser_shows_are_checked_as_files_stdin_and_urls(run_cli, local_site, tmp_path):
    """A NUL byte in the head, 300 nested <div>s, UTF-16, an element of 100,000 attributes."""
    pages = hostile_article_pages("Clinic page", [f"{CLINIC_TEXT}\nPage {n}." for n in range(4)])
    files = []
    for name, page in pages.items():
        (tmp_path / f"{name}.html").write_bytes(page)
        files.append(str(tmp_path / f"{name}.html"))
    url = local_site.add("/check/utf-16", pages["utf16"], content_type="text/html")
    result = run_cli("check", "--json", "--allow-private", *files, url)
    assert result.exit_code == 0, result.stderr
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["target"] for r in reports] == [*files, url]
    for report in reports:
        assert_schema(report)
        assert report["title"].startswith("Clinic page") and "MSCs" in report["text"]
    piped = run_cli("check", "--json", "-", input=pages["utf16"])
    assert piped.exit_code == 0, piped.stderr
    assert_schema(json.loads(piped.stdout))


def test_readable_report_without_flags(run_cli, clinic_url):
    result = run_cli("check", "--allow-private", clinic_url)
    assert result.exit_code == 0, result.stderr
    for expected in ("How Effective Is MS Treatment", "Hype score", "Overclaimed efficacy", "cure_claim",
                     "Counter-signal", "Trial reference"):
        assert expected.lower() in result.stdout.lower()


def test_each_bad_target_is_reported_and_the_others_still_checked(run_cli, local_site, clinic_url, tmp_path):
    not_html = local_site.add("/check/report.pdf", b"%PDF-1.7 binary", content_type="application/pdf")
    empty = local_site.add("/check/empty", "<html><body><nav><a href='/'>Home</a></nav></body></html>")
    unreachable = "http://127.0.0.1:9/gone"
    missing_file = str(tmp_path / "missing.html")
    targets = [unreachable, clinic_url, not_html, missing_file, empty, "ftp://example.org/x"]
    result = run_cli("check", "--json", "--allow-private", *targets)
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["target"] for line in lines] == targets
    errors = {line["target"]: line["error"] for line in lines if "error" in line}
    assert set(errors) == set(targets) - {clinic_url}
    assert "unreachable" in errors[unreachable]
    assert "not HTML" in errors[not_html]
    assert "no such file" in errors[missing_file]
    assert "extraction empty" in errors[empty]
    assert "only http and https" in errors["ftp://example.org/x"]
    assert_schema(next(line for line in lines if line["target"] == clinic_url))
    stderr_lines = [line for line in result.stderr.splitlines() if line.startswith("hypewatch: error:")]
    assert len(stderr_lines) == 5 and all(any(t in line for t in targets) for line in stderr_lines)


def test_private_addresses_need_the_flag(run_cli, clinic_url):
    result = run_cli("check", clinic_url)
    assert result.exit_code == 2
    assert "--allow-private" in result.stderr and clinic_url in result.stderr


def test_fail_above(run_cli, clinic_url):
    assert run_cli("check", "--json", "--allow-private", "--fail-above", "40", clinic_url).exit_code == 3
    assert run_cli("check", "--json", "--allow-private", "--fail-above", "100", clinic_url).exit_code == 0


def test_save_twice_on_unchanged_content_stores_once(run_cli, clinic_url, settings):
    for _ in range(2):
        result = run_cli("check", "--json", "--save", "--allow-private", clinic_url)
        assert result.exit_code == 0, result.stderr
    db = Database(settings.database_url)
    with db.session() as session:
        counts = [session.scalar(select(func.count()).select_from(model)) for model in (Page, DocumentVersion, Prediction)]
        page = session.scalars(select(Page)).one()
    db.close()
    assert counts == [1, 1, 1]
    assert page.url == clinic_url and page.domain == "127.0.0.1"


def test_export_lists_saved_pages(run_cli, local_site, clinic_url, tmp_path):
    news = (SEEDS_DIR / "docs" / "004_b6bcc4307204afad.txt").read_text()
    other = local_site.add("/check/news", article_html("Trial news", news))
    assert run_cli("check", "--save", "--json", "--allow-private", clinic_url, other).exit_code == 0
    jsonl = run_cli("export")
    rows = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert sorted(r["url"] for r in rows) == sorted([clinic_url, other])
    assert all(r["versions"] == 1 and r["hype_score"] is not None and "cure_claim" in r for r in rows)
    out = tmp_path / "pages.csv"
    csv_run = run_cli("export", "--format", "csv", "--output", str(out))
    assert csv_run.exit_code == 0, csv_run.stderr
    header, *body = out.read_text().splitlines()
    assert header.startswith("url,title,domain,published,versions,hype_score,relevance") and len(body) == 2


def test_report_and_export_show_the_one_hype_band(run_cli, clinic_url, tmp_path):
    from classifier.signals import hype_band

    checked = json.loads(run_cli("check", "--save", "--json", "--allow-private", clinic_url).stdout)
    band = hype_band(checked["hype_score"])
    report = run_cli("check", "--allow-private", clinic_url)
    assert f"Hype score {checked['hype_score']:.0f}/100 ({band})" in report.stdout
    exported = [json.loads(line) for line in run_cli("export").stdout.splitlines()]
    assert [row["hype_band"] for row in exported] == [hype_band(exported[0]["hype_score"])] == [band]


def test_standard_input_over_the_cap_is_refused_in_one_line(run_cli):
    result = run_cli("check", "-", input=b"stem cells cure MS. " * 1000, env={"HYPEWATCH_MAX_DOWNLOAD_BYTES": "4096"})
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["hypewatch: error: standard input: larger than the 0.00390625 MB limit"]


def test_an_endless_standard_input_stops_at_the_cap(cli_env):
    import subprocess
    import sys

    from conftest import PROJECT_ROOT

    endless = subprocess.Popen(["yes", "stem cells cure multiple sclerosis"], stdout=subprocess.PIPE)
    try:
        proc = subprocess.run([sys.executable, "-m", "hypewatch", "check", "-"], stdin=endless.stdout,
                              capture_output=True, timeout=60, cwd=PROJECT_ROOT,
                              env={**cli_env, "HYPEWATCH_MAX_DOWNLOAD_BYTES": str(1024 * 1024)})
    finally:
        endless.kill()
        endless.wait()
    assert proc.returncode == 2 and b"larger than the 1 MB limit" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_a_fifo_is_not_read(run_cli, tmp_path):
    import os

    fifo = tmp_path / "named.txt"
    os.mkfifo(fifo)  # nobody writes to it: reading it would hang
    result = run_cli("check", str(fifo), timeout=60)
    assert result.exit_code == 2 and "not a regular file" in result.stderr


def test_csv_export_neutralises_formulas(run_cli, local_site, tmp_path):
    title = '=HYPERLINK("http://evil.example","Stem cells cure MS")'
    url = local_site.add("/check/formula", article_html(title, CLINIC_TEXT))
    assert run_cli("check", "--save", "--allow-private", url).exit_code == 0
    out = tmp_path / "pages.csv"
    assert run_cli("export", "--format", "csv", "--output", str(out)).exit_code == 0
    import csv

    (row,) = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["title"].startswith("'=HYPERLINK(")


# ---------------------------------------------------------------- hostile servers
def test_compression_bombs_are_refused_in_one_line_within_little_memory(run_cli_measured, local_site,
                                                                        compression_bombs):
    # The command itself takes about 200 MB once its libraries are imported; what a bomb may add
    # is measured against the same command failing on a plain unreachable URL.
    baseline = run_cli_measured("check", "--allow-private", "http://127.0.0.1:9/")
    assert baseline.result.exit_code == 2 and "unreachable" in baseline.result.stderr
    for name, encoding, problem in [
        ("brotli", "br", "page larger than the 10 MB limit"),
        ("double_gzip", "gzip, gzip", "refusing stacked content encodings (gzip, gzip)"),
    ]:
        body = getattr(compression_bombs, name)
        url = local_site.add(f"/check/bomb-{name}", body, headers={"Content-Encoding": encoding})
        run = run_cli_measured("check", "--allow-private", url)
        assert run.result.exit_code == 2
        assert run.result.stderr.strip().splitlines() == [f"hypewatch: error: {url}: {problem}"]
        grown = run.peak_rss_mb - baseline.peak_rss_mb
        assert grown < 50, f"a {len(body)}-byte {name} body raised the peak RSS by {grown:.0f} MB"


def test_a_dripping_server_is_given_up_at_the_deadline(run_cli_measured, local_site):
    url = local_site.add("/check/drip", b"<html><body>" + b"x" * 100, drip=0.05)
    run = run_cli_measured("check", "--allow-private", url, timeout=60, env={"HYPEWATCH_FETCH_TIMEOUT": "1"})
    assert run.result.exit_code == 2
    assert run.result.stderr.strip().splitlines() == [
        f"hypewatch: error: {url}: gave up after 2 s: the server is too slow to send the page"]
    assert run.seconds < 15  # 2 s of deadline, plus the command's start-up


def test_the_charset_of_the_content_type_header_is_honoured(run_cli, local_site):
    text = CLINIC_TEXT + "\n\nTreatment packages start at \u20ac15,000 per patient."
    body = article_html("Stem cell clinic prices", text).replace('<meta charset="utf-8">', "")
    url = local_site.add("/check/latin-9", body.encode("iso-8859-15", "replace"),
                         content_type="text/html; charset=iso-8859-15")
    result = run_cli("check", "--json", "--allow-private", url)
    assert result.exit_code == 0, result.stderr
    assert "start at \u20ac15,000" in json.loads(result.stdout)["text"]


@pytest.mark.parametrize("flags", [[], ["--allow-private"]])
def test_hostile_urls_are_one_line_errors_each(run_cli, flags):
    result = run_cli("check", *flags, *HOSTILE_URLS)
    assert result.exit_code == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == len(HOSTILE_URLS), lines
    assert all(line.startswith("hypewatch: error: ") and len(line) < 400 for line in lines), lines


def test_empty_and_textless_files_are_one_line_each_without_library_logs(run_cli, tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.html"
    blank.write_bytes(b"\xef\xbb\xbf \n\t\n")
    textless = tmp_path / "textless.html"
    textless.write_text("<html></html>")
    result = run_cli("check", str(empty), str(blank), str(textless))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"hypewatch: error: {empty}: empty file (no text)",
        f"hypewatch: error: {blank}: empty file (no text)",
        f"hypewatch: error: {textless}: no article text could be extracted (extraction empty); not scored",
    ]
    piped = run_cli("check", "-", input=b"")
    assert piped.exit_code == 2
    assert piped.stderr.splitlines() == ["hypewatch: error: -: standard input is empty (no text)"]


# ---------------------------------------------------------------- a cold `check` imports only what it needs
def imported_modules(stderr: str) -> set[str]:
    """The modules a run imported, from Python's own import log (PYTHONPROFILEIMPORTTIME, i.e. -X importtime)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


NOT_FOR_A_FILE = {"httpx", "sqlalchemy", "alembic", "scrapy", "twisted", "redis", "apscheduler", "fastapi",
                  "skops",  # skops writes model files; `classifier.model_file` reads them
                  "scipy.stats"}  # scikit-learn imports it as it starts; scoring never uses it


@pytest.mark.parametrize("suffix", [".txt", ".html"])
def test_checking_a_file_imports_neither_fetching_nor_the_database_nor_the_crawler(run_cli, tmp_path, suffix):
    path = tmp_path / f"page{suffix}"
    path.write_text(CLINIC_TEXT if suffix == ".txt" else article_html("Stem cells for MS", CLINIC_TEXT))
    result = run_cli("check", "--json", str(path), env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.exit_code == 0, result.stderr[-2000:]
    modules = imported_modules(result.stderr)
    assert "classifier.model" in modules  # the log is read right
    assert modules & NOT_FOR_A_FILE == set()
    # Only a page needs an HTML parser, and nothing printed needs a language detector.
    assert ("trafilatura" in modules) == (suffix == ".html")
    assert "py3langid.langid" not in modules or suffix == ".html"  # trafilatura imports it; its model is not loaded


def test_a_saved_text_file_still_has_its_language(run_cli, tmp_path, settings):
    path = tmp_path / "page.txt"
    path.write_text(CLINIC_TEXT)
    assert run_cli("check", "--save", str(path)).exit_code == 0
    with Database(settings.database_url).session() as session:
        assert session.scalars(select(DocumentVersion.language)).all() == ["en"]
