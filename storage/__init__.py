"""hypewatch's records: the schema and every read and write of it. Imports nothing of ours.

- `models`     the tables (SQLAlchemy 2.0 typed models); `migrations/` brings a database up to them.
- `db`         engines, sessions and migrating on first use (SQLite by default, PostgreSQL tested).
- `documents`  what callers hand to storage and get back (`ExtractedDocument`, `PredictionScores`,
               `StoreResult`, `Citation`), the content fingerprint, raw HTML compression, lookup by content.
- `writes`     the one write path for pages, document versions and predictions (`store_batch`;
               `store_document` and `store_prediction` go through the same rules).
- `upsert`     the one INSERT ... ON CONFLICT DO NOTHING, for writes that can race.
- `runs`       crawl runs: starting, finishing, their owners' heartbeats, ending the runs whose
               process is gone, silent sources, the newest run of each source.
- `locks`      the scheduler lock.
- `owners`     who owns a record (host and pid) and whether that process still exists.
- `labels`     analysts' labels: adding, importing, reading back for training and rescoring.
- `alert_rules` what an alert rule is (kinds, parameters), without the database; `mask_channel`, the
               one way a channel URL (which may hold secrets) is shown.
- `alerts`     alert rules, the alert log (one event per event key) and each event's delivery to each
               channel (claimed, sent, retried, failed).
- `trials`     cited references (`cited_references`, written with their versions) and the trial
               registry records cached for them (`trial_records`, `TrialEssentials`).
- `repository` the registries (sources, model versions) and the export of every stored page.
- `errors`     the exceptions callers can report.
"""
