"""Labels in and out of hypewatch, in JSON Lines and in the formats of Label Studio and doccano.

A team can label in the tool it already uses: `hypewatch labels export` writes the current
version of every stored page (its text, the model's judgement as a pre-annotation, and any
analyst label), and `hypewatch labels import` reads the finished labels back into the labels
table, exactly as the dashboard's form stores them, so `hypewatch train --with-labels` learns
from them. Every record carries the document version's id, which is how an import finds its page.

Vocabulary, the same in every format:
* relevance: "relevant" / "not relevant" (doccano: `relevant` / `not_relevant` categories);
* signals: the guide's names (`cure_claim`, ...), as a multiple choice and as span labels on the
  sentences that show them (the evidence);
* hype: "0" to "3" (doccano: `hype:0` ... `hype:3` categories).

A label says nothing about a field it leaves out: it stays unknown, never "no". A page marked
not relevant has every signal "no", as the guide says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from classifier.signals import SIGNALS
from hypewatch.errors import HypewatchError

if TYPE_CHECKING:  # `hypewatch labels` registers with this module's names; SQLAlchemy waits for the database
    from storage.labels import LabelTask

FORMATS = ("jsonl", "label-studio", "doccano")
RELEVANT, NOT_RELEVANT = "relevant", "not relevant"
HYPE_LEVELS = ("0", "1", "2", "3")

# The Label Studio project this export and import expect (Settings > Labeling Interface).
LABEL_STUDIO_CONFIG = """<View>
  <Header value="$title"/>
  <Text name="text" value="$text"/>
  <Choices name="relevant" toName="text" choice="single" showInline="true">
    <Choice value="relevant"/><Choice value="not relevant"/>
  </Choices>
  <Choices name="signals" toName="text" choice="multiple">
""" + "".join(f'    <Choice value="{name}"/>\n' for name in SIGNALS) + """  </Choices>
  <Choices name="hype" toName="text" choice="single" showInline="true">
    <Choice value="0"/><Choice value="1"/><Choice value="2"/><Choice value="3"/>
  </Choices>
  <Labels name="evidence" toName="text">
""" + "".join(f'    <Label value="{name}"/>\n' for name in SIGNALS) + """  </Labels>
  <TextArea name="note" toName="text" rows="2"/>
</View>
"""


class LabelFileError(HypewatchError):
    """A label file cannot be imported; the message names the record at fault."""


@dataclass(frozen=True)
class Judgement:
    """One imported label, in the labels table's terms (None: not judged)."""

    version_id: int
    relevant: bool | None = None
    signals: dict[str, bool | None] = field(default_factory=dict)
    hype: int | None = None
    note: str | None = None
    evidence: dict[str, list[list[int]]] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for `storage.labels.add_label`."""
        signals = {name: self.signals.get(name) for name in SIGNALS}
        if self.relevant is False:
            signals = dict.fromkeys(SIGNALS, False)
        evidence = {name: spans for name, spans in self.evidence.items() if signals.get(name)}
        return {"relevant": self.relevant, **signals, "hype": 0 if self.relevant is False else self.hype,
                "note": self.note, "evidence": evidence or None}

    def is_empty(self) -> bool:
        return self.relevant is None and self.hype is None and all(v is None for v in self.signals.values())


# ------------------------------------------------------------------------------------------ export
def export_records(tasks: Iterable[LabelTask], labels: dict[int, Any], fmt: str) -> Iterator[dict]:
    """One record per task, in `fmt`; `labels` maps version id -> `storage.labels.AnalystLabel`."""
    writer = {"jsonl": _jsonl_record, "label-studio": _label_studio_task, "doccano": _doccano_record}[fmt]
    for task in tasks:
        yield writer(task, labels.get(task.version_id))


def _jsonl_record(task: LabelTask, label) -> dict:
    return {
        "version_id": task.version_id, "url": task.url, "title": task.title, "text": task.text,
        "relevant": label.relevant if label else None,
        "signals": {name: label.signals.get(name) for name in SIGNALS} if label else dict.fromkeys(SIGNALS),
        "hype": label.hype if label else None,
        "note": "; ".join(label.notes) if label and label.notes else None,
        "evidence": {name: [list(span) for span in spans] for name, spans in label.evidence.items()} if label else {},
        "model": {"version": task.model_version, "relevant": task.predicted_relevant,
                  "signals": list(task.predicted_signals), "hype_score": task.hype_score},
    }


def _label_studio_task(task: LabelTask, label) -> dict:
    record: dict[str, Any] = {"data": {"text": task.text, "title": task.title or task.url, "url": task.url,
                                       "version_id": task.version_id}}
    if task.predicted_relevant is not None:
        record["predictions"] = [{"model_version": task.model_version or "", "result": _ls_result(
            task.predicted_relevant, dict.fromkeys(task.predicted_signals, True), None, {})}]
    if label is not None:
        record["annotations"] = [{"result": _ls_result(label.relevant, label.signals, label.hype, label.evidence,
                                                       task.text)}]
    return record


def _ls_result(relevant, signals: dict, hype, evidence: dict, text: str = "") -> list[dict]:
    def choice(name: str, choices: list[str]) -> dict:
        return {"from_name": name, "to_name": "text", "type": "choices", "value": {"choices": choices}}

    result = []
    if relevant is not None:
        result.append(choice("relevant", [RELEVANT if relevant else NOT_RELEVANT]))
    if any(v is not None for v in signals.values()):
        result.append(choice("signals", [name for name in SIGNALS if signals.get(name)]))
    if hype is not None:
        result.append(choice("hype", [str(hype)]))
    for name, spans in evidence.items():
        for start, end in spans:
            result.append({"from_name": "evidence", "to_name": "text", "type": "labels",
                           "value": {"start": start, "end": end, "text": text[start:end], "labels": [name]}})
    return result


def _doccano_record(task: LabelTask, label) -> dict:
    cats, spans = [], []
    if label is not None:
        if label.relevant is not None:
            cats.append("relevant" if label.relevant else "not_relevant")
        cats += [name for name in SIGNALS if label.signals.get(name)]
        if label.hype is not None:
            cats.append(f"hype:{label.hype}")
        spans = [[start, end, name] for name, marked in label.evidence.items() for start, end in marked]
    return {"text": task.text, "label": spans, "cats": cats, "version_id": task.version_id, "url": task.url,
            "title": task.title}


# ------------------------------------------------------------------------------------------ import
def read_records(data: str, fmt: str) -> list[dict]:
    """The records of a label file: a JSON array (Label Studio's export) or JSON Lines."""
    stripped = data.lstrip()
    if stripped.startswith("["):
        try:
            records = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise LabelFileError(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    else:
        records = []
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LabelFileError(f"line {number}: not valid JSON ({exc.msg})") from None
    if not all(isinstance(r, dict) for r in records):
        raise LabelFileError("every record must be a JSON object")
    return records


def parse_judgements(records: list[dict], fmt: str) -> list[Judgement]:
    """`Judgement`s from the records of a `fmt` file; `LabelFileError` names the first bad record."""
    parse = {"jsonl": _from_jsonl, "label-studio": _from_label_studio, "doccano": _from_doccano}[fmt]
    out = []
    for number, record in enumerate(records, 1):
        try:
            judgement = parse(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise LabelFileError(f"record {number}: {_reason(exc)}") from None
        if not judgement.is_empty():
            out.append(judgement)
    return out


def _reason(exc: Exception) -> str:
    return f"missing {exc}" if isinstance(exc, KeyError) else str(exc)


def _version_id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise ValueError(f"version_id must be a document version id, got {value!r}")
    return int(value)


def _optional_bool(value, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise ValueError(f"{name} must be true, false or null, got {value!r}")


def _hype(value) -> int | None:
    if value is None:
        return None
    if str(value) not in HYPE_LEVELS:
        raise ValueError(f"hype must be 0 to 3, got {value!r}")
    return int(value)


def _spans(pairs: Iterable[tuple[Any, Any, Any]]) -> dict[str, list[list[int]]]:
    evidence: dict[str, list[list[int]]] = {}
    for start, end, name in pairs:
        if name not in SIGNALS:
            raise ValueError(f"unknown evidence label {name!r}")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            raise ValueError(f"evidence span must be two offsets, got {[start, end]!r}")
        evidence.setdefault(name, []).append([start, end])
    return evidence


def _from_jsonl(record: dict) -> Judgement:
    signals = record.get("signals") or {}
    if not isinstance(signals, dict) or set(signals) - set(SIGNALS):
        raise ValueError(f"signals must map {', '.join(SIGNALS)} to true/false/null")
    evidence = record.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise ValueError("evidence must map signal names to [[start, end], ...]")
    return Judgement(
        version_id=_version_id(record["version_id"]),
        relevant=_optional_bool(record.get("relevant"), "relevant"),
        signals={name: _optional_bool(signals.get(name), name) for name in SIGNALS},
        hype=_hype(record.get("hype")), note=_note(record.get("note")),
        evidence=_spans((s[0], s[1], name) for name, spans in evidence.items() for s in spans),
    )


def _from_label_studio(task: dict) -> Judgement:
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    data = task["data"]
    if not annotations:
        return Judgement(version_id=_version_id(data["version_id"]))
    relevant = hype = note = None
    chosen: list[str] | None = None
    spans = []
    for item in annotations[-1].get("result") or []:  # the newest annotation is the team's judgement
        value, name = item.get("value") or {}, item.get("from_name")
        if name == "relevant" and value.get("choices"):
            relevant = value["choices"][0] == RELEVANT
        elif name == "signals":
            chosen = list(value.get("choices") or [])
        elif name == "hype" and value.get("choices"):
            hype = _hype(value["choices"][0])
        elif name == "evidence":
            spans += [(value.get("start"), value.get("end"), label) for label in value.get("labels") or []]
        elif name == "note" and value.get("text"):
            note = _note(" ".join(value["text"]))
    if chosen is not None and set(chosen) - set(SIGNALS):
        raise ValueError(f"unknown signals {sorted(set(chosen) - set(SIGNALS))}")
    signals = {name: (name in chosen) if chosen is not None else None for name in SIGNALS}
    return Judgement(_version_id(data["version_id"]), relevant, signals, hype, note, _spans(spans))


def _from_doccano(record: dict) -> Judgement:
    labels = record.get("label") or []
    categories = list(record.get("cats") or []) + [item for item in labels if isinstance(item, str)]
    spans = [item for item in labels if isinstance(item, list)]
    unknown = [c for c in categories if c not in ("relevant", "not_relevant", *SIGNALS)
               and not (isinstance(c, str) and c.startswith("hype:"))]
    if unknown:
        raise ValueError(f"unknown categories {unknown}")
    relevant = True if "relevant" in categories else False if "not_relevant" in categories else None
    hype_levels = [c.split(":", 1)[1] for c in categories if c.startswith("hype:")]
    judged = relevant is not None or any(c in SIGNALS for c in categories)
    signals = {name: (name in categories) if judged else None for name in SIGNALS}
    version = record.get("version_id", (record.get("meta") or {}).get("version_id"))
    return Judgement(_version_id(version), relevant, signals, _hype(hype_levels[-1]) if hype_levels else None,
                     None, _spans((s[0], s[1], s[2]) for s in spans if len(s) == 3))


def _note(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("note must be text")
    return value.strip()[:2000] or None
