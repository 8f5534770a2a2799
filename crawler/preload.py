"""Imported by the crawl's fork server before it forks any extraction process
(`crawler.workers.start_fork_server`): trafilatura warmed up and the crawl's model loaded, once,
for every extraction process to share."""

from crawler.workers import preload

preload()
