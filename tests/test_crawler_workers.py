"""crawler.workers: the extraction processes come from a fork server that has done their imports
and loaded the model once, so they start at once and share that memory; a call that overruns is
killed with its pool, and the other calls go on."""

import asyncio
import json
import os
import subprocess
import sys
import time

from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.workers import ProcessWorkers
from tests.conftest import PROJECT_ROOT

TEXT = ("Autologous haematopoietic stem cell transplantation was compared with the best available drugs "
        "in people with relapsing multiple sclerosis. ") * 6

# Run in a process of its own: a fork server belongs to the process that started it.
SCRIPT = """
import concurrent.futures, json, multiprocessing, multiprocessing.forkserver, os, sys
from crawler.workers import score_text, start_fork_server, start_worker, extract_page

server_model_dir, model_dir = sys.argv[1], sys.argv[2]
start_fork_server(server_model_dir, None)
pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"),
                                              initializer=start_worker, initargs=(model_dir, None))
started = [pool.submit(os.getpid) for _ in range(2)]  # both start (processes are started on demand)
concurrent.futures.wait(started)
scored = pool.submit(score_text, sys.argv[3]).result()
page = "<html><body><article><p>" + sys.argv[3] + "</p></article></body></html>"
extracted = pool.submit(extract_page, page.encode(), "https://example.org/a", "utf-8").result()
workers = {}
for pid in pool._processes:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        shared = sum(int(line.split()[1]) for line in rollup if line.startswith("Shared_"))
    workers[pid] = {"parent": parent, "shared_mb": shared / 1024}
pool.shutdown()
print(json.dumps({"server": multiprocessing.forkserver._forkserver._forkserver_pid, "workers": workers,
                  "relevant": scored.scores["relevant"], "names_topic": scored.names_topic,
                  "extracted": extracted.extraction.status}))
"""


def run_workers(server_model_dir, model_dir) -> dict:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(server_model_dir), str(model_dir), TEXT],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(result.stdout)


def test_extraction_processes_are_forked_from_a_server_holding_the_model(model_dir):
    found = run_workers(model_dir, model_dir)
    assert len(found["workers"]) == 2
    for worker in found["workers"].values():
        assert worker["parent"] == found["server"]  # forked by the server, not started by the crawl process
        # Imports and model shared with the server (copy-on-write): a spawned process shares next to nothing.
        assert worker["shared_mb"] > 60, worker
    assert found["relevant"] is True and found["names_topic"] is None  # scored, in the same processes
    assert found["extracted"] == "ok"


def test_a_worker_loads_the_model_itself_when_the_server_could_not(model_dir, tmp_path):
    found = run_workers(tmp_path / "no-models-here", model_dir)
    assert found["relevant"] is True and found["extracted"] == "ok"



def is_running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_call_that_overruns_is_killed_and_the_other_calls_go_on(model_dir):
    async def scenario():
        workers = ProcessWorkers(get_crawler(Spider), "test", 2, (str(model_dir), None))
        await workers.open()
        first = {process.pid for process in workers.pool._processes.values()}
        try:
            stuck = asyncio.ensure_future(workers.run(time.sleep, 60, timeout=1))
            meanwhile = asyncio.ensure_future(workers.run(time.sleep, 3, timeout=30))  # the kill breaks it: run again
            overran = await asyncio.gather(stuck, return_exceptions=True)
            finished = await meanwhile
            after = await workers.run(os.getpid, timeout=30)
        finally:
            workers.close()
        return overran[0], finished, first, after

    started = time.monotonic()
    overran, finished, first, after = asyncio.run(scenario())
    assert isinstance(overran, TimeoutError) and finished is None
    assert after not in first and not any(is_running(pid) for pid in first)  # killed, not left working
    assert time.monotonic() - started < 50  # close() did not wait for the 60 s call
