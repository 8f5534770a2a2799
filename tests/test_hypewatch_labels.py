"""`hypewatch labels export|import` in JSON Lines, Label Studio and doccano formats, through real
subprocesses and a real database; imported labels reach training as the dashboard's would."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from storage.models import Label
from tests.conftest import SEEDS_DIR

SEED_FILES = [SEEDS_DIR / "docs" / f"{name}.txt" for name in ("001_7d7ce66c201201cd", "004_b6bcc4307204afad")]


@pytest.fixture
def saved(run_cli):
    """Two seed documents checked and stored, as `hypewatch check --save` stores files."""
    result = run_cli("check", "--save", "--json", *map(str, SEED_FILES))
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def export(run_cli, tmp_path, fmt: str, *extra: str):
    out = tmp_path / f"export-{fmt}"
    result = run_cli("labels", "export", "--format", fmt, "-o", str(out), *extra)
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    return json.loads(text) if fmt == "label-studio" else [json.loads(line) for line in text.splitlines()]


def labels_in(app) -> list[Label]:
    with app.database.session() as session:
        return list(session.scalars(select(Label).order_by(Label.id)))


def test_jsonl_round_trip_with_evidence_reaches_training(run_cli, saved, app, tmp_path):
    records = export(run_cli, tmp_path, "jsonl")
    assert len(records) == 2 and all(r["text"] and r["model"]["version"] for r in records)
    provider = next(r for r in records if "001_" in r["url"])
    sentence = "We recommend this treatment"
    start = provider["text"].find(sentence)
    provider.update(relevant=True, hype=3, note="provider page",
                    signals={**provider["signals"], "clinic_promotion": True, "testimonial": False},
                    evidence={"clinic_promotion": [[start, start + len(sentence)]]} if start >= 0 else {})
    path = tmp_path / "labelled.jsonl"
    path.write_text(json.dumps(provider) + "\n", encoding="utf-8")
    result = run_cli("labels", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "imported 1 label(s)" in result.stdout
    [label] = labels_in(app)
    assert label.author == "import:jsonl" and label.clinic_promotion is True and label.testimonial is False
    assert label.cure_claim is None and label.hype == 3  # not judged stays unknown
    [document] = app.analyst_documents()
    assert "clinic_promotion" in document.signals and "cure_claim" in document.unknown
    if start >= 0:
        assert document.evidence["clinic_promotion"] == (sentence,)
    # The same file again stores nothing new.
    again = run_cli("labels", "import", str(path))
    assert again.exit_code == 0 and "imported 0 label(s)" in again.stdout and len(labels_in(app)) == 1
    # And the export now carries the label.
    exported = next(r for r in export(run_cli, tmp_path, "jsonl", "--labelled-only"))
    assert exported["signals"]["clinic_promotion"] is True and exported["hype"] == 3


def test_label_studio_round_trip(run_cli, saved, app, tmp_path):
    config = run_cli("labels", "export", "--label-studio-config")
    assert config.exit_code == 0 and '<Labels name="evidence"' in config.stdout
    tasks = export(run_cli, tmp_path, "label-studio")
    assert len(tasks) == 2 and all(t["predictions"][0]["result"] for t in tasks)
    task = tasks[0]
    text = task["data"]["text"]
    # What Label Studio exports once an analyst has annotated the task.
    task["annotations"] = [{"result": [
        {"from_name": "relevant", "to_name": "text", "type": "choices", "value": {"choices": ["relevant"]}},
        {"from_name": "signals", "to_name": "text", "type": "choices", "value": {"choices": ["cure_claim"]}},
        {"from_name": "hype", "to_name": "text", "type": "choices", "value": {"choices": ["2"]}},
        {"from_name": "evidence", "to_name": "text", "type": "labels",
         "value": {"start": 0, "end": 20, "text": text[:20], "labels": ["cure_claim"]}},
    ]}]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    result = run_cli("labels", "import", "--format", "label-studio", str(path))
    assert result.exit_code == 0, result.stderr
    [label] = labels_in(app)
    assert label.version_id == task["data"]["version_id"] and label.relevant is True and label.hype == 2
    assert label.cure_claim is True and label.clinic_promotion is False  # the signals question was answered
    assert label.evidence == {"cure_claim": [[0, 20]]}


def test_doccano_round_trip(run_cli, saved, app, tmp_path):
    records = export(run_cli, tmp_path, "doccano")
    assert {"text", "label", "cats", "version_id"} <= set(records[0])
    records[0]["cats"] = ["not_relevant"]
    records[1]["label"] = [[0, 10, "testimonial"], "relevant", "testimonial", "hype:1"]
    path = tmp_path / "doccano.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = run_cli("labels", "import", "--format", "doccano", "--author", "team", str(path))
    assert result.exit_code == 0, result.stderr
    first, second = labels_in(app)
    assert first.relevant is False and first.cure_claim is False and first.hype == 0
    assert second.relevant is True and second.testimonial is True and second.cure_claim is False
    assert second.hype == 1 and second.evidence == {"testimonial": [[0, 10]]} and second.author == "team"


@pytest.mark.parametrize("content, message", [
    ('{"version_id": 999999, "relevant": true}\n', "no stored document version 999999"),
    ('{"version_id": 1, "hype": 7}\n', "record 2: hype must be 0 to 3"),
    ('{"version_id": 1, "relevant": true}\nnot json\n', "line 3: not valid JSON"),
    ('{"version_id": 1, "signals": {"miracle": true}}\n', "record 2: signals must map"),
])
def test_a_bad_file_is_one_line_and_stores_nothing(run_cli, saved, app, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"version_id": 1, "relevant": true}\n' + content, encoding="utf-8")
    result = run_cli("labels", "import", str(path))
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    with app.database.session() as session:
        assert session.scalar(select(func.count(Label.id))) == 0


def test_a_missing_or_special_file_is_refused(run_cli, tmp_path):
    assert "no such file" in run_cli("labels", "import", str(tmp_path / "none.jsonl")).stderr
    result = run_cli("labels", "import", "/dev/null")
    assert result.exit_code == 2 and "not a regular file" in result.stderr
