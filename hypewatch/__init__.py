"""hypewatch's application layer: settings, the CLI, and the one place that wires the packages.

`classifier` and `storage` stand alone; `crawler` and `dashboard` use them; this package uses all.

- `settings`: the typed settings object, read lazily from the environment.
- `app`: `Hypewatch`, the wiring (database, model registry, checking one target).
- Crawl runs: `runs` (the core every backend shares: run types, counts, outcome rules, crawl
  processes), `crawling` (the local backend), `distributed` (the shared Redis backend),
  `dispatch` (chooses between them), `worker` (the `hypewatch worker` daemon), `scheduling`
  (APScheduler).
- `alerting/`: alert rules evaluated after every crawl and delivered through Apprise (`cli_alerts`:
  `hypewatch alerts`).
- `trials`: the ClinicalTrials.gov API v2 client, the registry cache's refresh, cited trials judged.
- `isrctn`: the ISRCTN registry's query API client (its XML read safely), a `trials.TrialRegistry`.
- `serving`: runs the dashboard; `demo`: the demo job; `label_exchange`: labels in and out.
- `cli*`, `report`, `output`: the command line, its check report, and its file output;
  `deferred_imports`: modules a command's libraries import but it never uses.
- `errors`: the package's exceptions.
"""
