"""The dashboard: FastAPI pages, a JSON API and exports over what the crawls stored.

It uses `classifier` (the guide's vocabulary) and `storage` (reads, the labels and alert rules
analysts add).
As Datasette passes its instance to its views, `state.Dashboard` holds the state (config,
sessions, readers, rendering) and reaches every route through `state`'s dependencies; routes never
import the app factory.

- `app`: `create_app`, security middleware, and the one place errors are rendered.
- Routes: `pages` (HTML), `api` (JSON), `exports` (CSV, JSON); each screen's data comes from one
  function of `screens.Reader`, used by all three.
- Data: `filters`, `params`, `figures` (the values shown), `reads` and `crawl_runs` (SQL),
  `facts` (in-memory figures, and their snapshot file), `analytics` and `cache`, `search`
  (full-text index), `serialise`, `trials` (cited trials judged against the cached registry records;
  the dashboard asks no registry).
- Showing: `rendering` (Jinja2), `presentation`, `textview`, `spreadsheet` (formula-safe CSV),
  `vendor` (Plotly and Swagger UI from installed packages).
- `security`, `throttle` (failed sign-ins), `labelling`, `alert_forms` (the alert rule form; a
  rule's test message is sent by the `send_alert_test` the wiring hands in), `sqlfuncs`, `errors`.
- `abandoned_runs`: the one write outside a POST, marking crawl runs whose process is gone as
  failed, at start-up and in the background.
"""
