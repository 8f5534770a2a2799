"""CLI behaviour shared by all commands: errors as one line and an exit code, db and corpus commands."""

import json
import shutil

import pytest
from conftest import SEEDS_DIR


def test_db_upgrade_creates_the_schema(run_cli, settings):
    result = run_cli("db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert "database at revision" in result.stdout


def test_bad_configuration_is_one_line_and_exit_2(run_cli):
    result = run_cli("db", "upgrade", env={"HYPEWATCH_FETCH_TIMEOUT": "soon"})
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["hypewatch: error: HYPEWATCH_FETCH_TIMEOUT must be a number, got 'soon'"]


def test_unreachable_database_is_one_line_and_exit_2(run_cli):
    url = "postgresql+psycopg://nobody:hunter2@127.0.0.1:1/x?connect_timeout=2"
    result = run_cli("export", env={"HYPEWATCH_DATABASE_URL": url})
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()  # the cause, not psycopg's hint and SQLAlchemy's link on more lines
    assert line.startswith("hypewatch: error: cannot open database postgresql+psycopg://nobody:***@127.0.0.1:1/x")
    assert line.endswith("Connection refused") and "hunter2" not in line


@pytest.mark.parametrize("url", ["notaurl", "oracle://", "nosuchdb://host/x"])
def test_unusable_database_url_is_one_line_and_exit_2(run_cli, url):
    result = run_cli("export", env={"HYPEWATCH_DATABASE_URL": url})
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("hypewatch: error: HYPEWATCH_DATABASE_URL: ")


def test_usage_errors_exit_2(run_cli):
    result = run_cli("check")
    assert result.exit_code == 2 and "Missing argument" in result.stderr


def test_corpus_check_accepts_the_shipped_corpus(run_cli):
    result = run_cli("corpus", "check")
    assert result.exit_code == 0, result.stderr
    assert "corpus ok: " in result.stdout


def test_corpus_check_names_file_and_line_of_each_problem(run_cli, tmp_path):
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR / "docs", corpus / "docs")
    lines = (SEEDS_DIR / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    bad = json.loads(lines[2])
    bad["signals"] = [*bad["signals"], "miracle"]
    lines[2] = json.dumps(bad)
    lines[4] = lines[4][:-5]  # truncated JSON
    (corpus / "labels.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("corpus", "check", "--seeds", str(corpus))
    assert result.exit_code == 2
    assert f"{corpus / 'labels.jsonl'}:3: unknown signals: miracle" in result.stderr
    assert f"{corpus / 'labels.jsonl'}:5: not valid JSON" in result.stderr
    # The truncated line cannot be tied to its document, so that document is reported as unlabelled.
    assert f"{corpus / 'docs' / '004_b6bcc4307204afad.txt'}: no label line" in result.stderr
    assert "corpus has 3 problem(s)" in result.stderr


def test_help_imports_no_library_a_command_needs(run_cli):
    result = run_cli("--help", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert result.exit_code == 0 and "check" in result.stdout
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "hypewatch.cli_crawl" in modules  # every command is listed, so every command module is read
    heavy = {"numpy", "sklearn", "skops", "trafilatura", "httpx", "sqlalchemy", "scrapy", "twisted", "fastapi"}
    assert not modules & heavy
