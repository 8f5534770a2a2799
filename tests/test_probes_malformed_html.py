"""Probe: malformed HTML in real-world encodings. Hypothesis builds 200 broken documents (unclosed
and misnested tags, deep nesting, stray NUL bytes, bogus doctypes, comments and CDATA, entities,
huge attributes, byte-order marks, charsets declared wrongly or not at all, in the encodings the
web uses); each goes through `crawler.extract.extract_html`, then all of them through one real
`hypewatch check FILE...` process. The figure expected is 0 tracebacks: a document may fail to
yield an article, but only as an outcome or a one-line error."""

from __future__ import annotations

import json
import traceback

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import extract_html

DOCUMENTS = 200
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "iso-8859-1", "iso-8859-15", "windows-1252",
             "windows-1251", "koi8-r", "shift_jis", "euc-jp", "gb18030", "big5", "euc-kr")
SENTENCES = (
    "Stem cell therapy for multiple sclerosis is offered abroad for 45 000 €.",
    "Die Stammzelltherapie bei Multipler Sklerose wird in Studien geprüft.",
    "La greffe de cellules souches est une option pour certains patients atteints de sclérose en plaques.",
    "Терапия стволовыми клетками при рассеянном склерозе остаётся экспериментальной.",
    "多発性硬化症に対する幹細胞治療は臨床試験の段階です。",
    "多发性硬化症的干细胞疗法仍在临床试验中。",
    "다발성 경화증에 대한 줄기세포 치료는 아직 연구 중입니다.",
    "Patients report “miracle” results — doctors urge caution.",
)
TAGS = ("p", "div", "span", "article", "main", "section", "b", "i", "a", "table", "tr", "td", "ul", "li", "h1",
        "script", "style", "title", "head", "body", "html", "svg", "math", "template", "noscript", "iframe", "form")
JUNK = ("<", ">", "</", "<!--", "-->", "<![CDATA[", "]]>", "&amp", "&#0;", "&#x110000;", "&nbsp", "\x00", "\ufeff",
        "<!DOCTYPE html PUBLIC", "<?xml version='1.0'?>", "<meta charset=", "\"", "'", "=", "\r", "\u2028", "\udfff")


@st.composite
def fragment(draw) -> str:
    kind = draw(st.sampled_from(("open", "close", "text", "junk", "attrs", "nest", "comment")))
    tag = draw(st.sampled_from(TAGS))
    if kind == "open":
        return f"<{tag}>"
    if kind == "close":
        return f"</{tag}>"
    if kind == "text":
        return " ".join(draw(st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=6)))
    if kind == "junk":
        return "".join(draw(st.lists(st.sampled_from(JUNK), min_size=1, max_size=5)))
    if kind == "attrs":
        count = draw(st.integers(1, 3000))
        return f"<{tag} " + " ".join(f'a{i}="{i}"' for i in range(count)) + ">"
    if kind == "nest":
        depth = draw(st.integers(1, 600))
        return f"<{tag}>" * depth + draw(st.sampled_from(SENTENCES)) + f"</{tag}>" * draw(st.integers(0, depth))
    return "<!--" + draw(st.text(max_size=40)) + draw(st.sampled_from(("-->", "--!>", "")))


@st.composite
def malformed_document(draw) -> tuple[bytes, str]:
    """(the document's bytes, the file suffix to give it)."""
    encoding = draw(st.sampled_from(ENCODINGS))
    declared = draw(st.sampled_from((encoding, "utf-8", "iso-8859-15", "utf-16", "x-unknown-charset", None)))
    head = f'<meta charset="{declared}">' if declared else ""
    parts = draw(st.lists(fragment(), min_size=1, max_size=40))
    text = draw(st.sampled_from(("<!doctype html><html><head>", "<html>", "", "\ufeff<html><head>"))) + head + "".join(parts)
    data = text.encode(encoding, errors=draw(st.sampled_from(("replace", "ignore", "xmlcharrefreplace"))))
    if draw(st.booleans()):  # cut anywhere: truncated downloads, half a multi-byte character
        data = data[: draw(st.integers(0, len(data)))]
    return data, draw(st.sampled_from((".html", ".htm", ".html", ".txt")))


def test_malformed_documents_give_outcomes_not_tracebacks(run_cli, tmp_path, probe_report):
    documents: list[tuple[bytes, str]] = []
    failures: list[str] = []

    @settings(max_examples=DOCUMENTS, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(malformed_document())
    def extract_one(document: tuple[bytes, str]) -> None:
        documents.append(document)
        data = document[0]
        try:
            extract_html(data, "https://example.org/broken")
            extract_html(data.decode("utf-8", "replace"), "https://example.org/broken")
        except Exception:  # counted, not raised: the figure is how many of the 200 broke
            failures.append(traceback.format_exc(limit=3))

    extract_one()
    paths = []
    for i, (data, suffix) in enumerate(documents[:DOCUMENTS]):
        path = tmp_path / f"doc-{i:03d}{suffix}"
        path.write_bytes(data)
        paths.append(str(path))
    result = run_cli("check", "--json", *paths, timeout=300)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    errors = [line["error"] for line in lines if "error" in line]
    probe_report["malformed_html"] = {
        "documents": len(documents), "extraction_tracebacks": len(failures),
        "check_documents": len(paths), "check_tracebacks": result.stderr.count("Traceback"),
        "check_scored": len(lines) - len(errors), "check_refused": len(errors),
        "encodings": len(ENCODINGS),
    }
    assert len(documents) >= DOCUMENTS
    assert not failures, failures[0]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.exit_code in (0, 2), result.stderr[-3000:]
    assert len(lines) == len(paths)
    assert all("\n" not in error for error in errors)
