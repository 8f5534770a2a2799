"""`hypewatch serve` and `hypewatch demo` as a user runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx

from hypewatch.settings import PROJECT_ROOT


def test_serve_refuses_a_public_address_without_a_password(run_cli):
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert "HYPEWATCH_DASHBOARD_PASSWORD" in result.stderr


def test_serve_refuses_a_blank_password(run_cli):
    for blank in (" ", "\t \t"):
        result = run_cli("serve", "--port", "0", env={"HYPEWATCH_DASHBOARD_PASSWORD": blank}, timeout=60)
        assert result.exit_code == 2
        [line] = result.stderr.splitlines()
        assert line.startswith("hypewatch: error: HYPEWATCH_DASHBOARD_PASSWORD is blank")


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "hypewatch", *args], env=env, cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"dashboard running at (http://\S+)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise AssertionError(f"no dashboard URL; stderr:\n{process.stderr.read()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_serve_prints_its_url_and_serves(cli_env):
    process, url = _start(["serve", "--port", "0"], cli_env)
    try:
        assert httpx.get(url + "healthz", timeout=10).json() == {"status": "ok"}
        assert httpx.get(url, timeout=30).status_code == 200
    finally:
        _stop(process)


def test_serve_stops_cleanly_on_sigterm(cli_env):
    process, url = _start(["serve", "--port", "0"], cli_env)
    try:
        assert httpx.get(url + "healthz", timeout=10).status_code == 200
        process.send_signal(signal.SIGTERM)  # what systemd, docker stop and Kubernetes send
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            _stop(process)
    assert "Traceback" not in process.stderr.read()


def test_demo_crawls_into_a_fresh_database_and_starts_cleanly_twice(cli_env, settings):
    for _ in range(2):
        process, url = _start(["demo", "--port", "0", "--source", "demo-feed", "--max-pages", "40"], cli_env)
        try:
            data = httpx.get(url + "api/articles", params={"relevance": "all"}, timeout=30).json()
            runs = httpx.get(url + "api/runs", timeout=30).json()
            trends = httpx.get(url + "api/trends", timeout=30).json()
        finally:
            _stop(process)
        assert data["total"] > 10, data
        assert runs["total"] == 1, runs  # a fresh database: only this run's crawl
        assert len(trends["weeks"]) >= 8, trends["weeks"]  # dates spread over months
    assert (settings.home / "demo" / "demo.db").exists()
