"""classifier.references: every registry format, named trials, DOIs and PMIDs, with offsets."""

from __future__ import annotations

import pytest

from classifier.references import (
    ACTRN,
    CHICTR,
    CTRI,
    DOI,
    DRKS,
    EUCT,
    EUDRACT,
    IRCT,
    ISRCTN,
    JRCT,
    NAMED_TRIAL,
    NCT,
    PMID,
    Reference,
    find_references,
    reference_url,
)

# (as written, kind, normalised identifier)
FORMATS = [
    ("NCT01234567", NCT, "NCT01234567"),
    ("nct 01234567", NCT, "NCT01234567"),
    ("ISRCTN12345678", ISRCTN, "ISRCTN12345678"),
    ("ISRCTN-12345678", ISRCTN, "ISRCTN12345678"),
    ("2019-001234-15", EUDRACT, "2019-001234-15"),
    ("2023-503456-12-00", EUCT, "2023-503456-12-00"),
    ("ACTRN12617000123456", ACTRN, "ACTRN12617000123456"),
    ("ChiCTR2000031234", CHICTR, "ChiCTR2000031234"),
    ("ChiCTR-TRC-12002345", CHICTR, "ChiCTR-TRC-12002345"),
    ("CTRI/2020/05/025013", CTRI, "CTRI/2020/05/025013"),
    ("IRCT20190101042215N1", IRCT, "IRCT20190101042215N1"),
    ("IRCT138804252129N1", IRCT, "IRCT138804252129N1"),
    ("jRCT2031210123", JRCT, "jRCT2031210123"),
    ("jRCTs031180000", JRCT, "jRCTs031180000"),
    ("DRKS00012345", DRKS, "DRKS00012345"),
    ("BEAT-MS", NAMED_TRIAL, "BEAT-MS"),
    ("MIST", NAMED_TRIAL, "MIST"),
    ("RAM-MS", NAMED_TRIAL, "RAM-MS"),
    ("STAR-MS", NAMED_TRIAL, "STAR-MS"),
    ("NET-MS", NAMED_TRIAL, "NET-MS"),
    ("10.1001/jama.2018.18070", DOI, "10.1001/jama.2018.18070"),
    ("PMID: 30667502", PMID, "30667502"),
    ("pubmed.ncbi.nlm.nih.gov/30667502", PMID, "30667502"),
]

# Sentences in other languages, each citing the identifier in braces.
LANGUAGES = [
    "Die Studie {} wurde an der Charité durchgeführt.",
    "El ensayo {} reclutó pacientes con esclerosis múltiple.",
    "该研究已注册，注册号{}。",
    "臨床試験（{}）に登録されています。",
    "Исследование {} завершено.",
    "الدراسة مسجلة برقم {} في السجل",
    "연구 등록번호 {}입니다.",
]


@pytest.mark.parametrize(("written", "kind", "identifier"), FORMATS)
def test_every_format_is_found_with_its_offsets(written, kind, identifier):
    text = f"As the clinic says, see {written}. That is all."
    refs = find_references(text)
    assert refs == [Reference(kind, identifier, 24, 24 + len(written))]
    assert text[refs[0].start:refs[0].end] == written


@pytest.mark.parametrize("sentence", LANGUAGES)
@pytest.mark.parametrize(("written", "kind", "identifier"),
                         [f for f in FORMATS if f[1] not in (NAMED_TRIAL, PMID)])
def test_inside_non_english_text(sentence, written, kind, identifier):
    text = sentence.format(written)
    refs = find_references(text)
    start = text.index(written)
    assert refs == [Reference(kind, identifier, start, start + len(written))]


def test_full_width_and_unicode_dashes_keep_offsets():
    text = "登録番号：ＮＣＴ０１２３４５６７、EudraCT 2019‐001234‐15"
    refs = find_references(text)
    assert [(r.kind, r.identifier) for r in refs] == [(NCT, "NCT01234567"), (EUDRACT, "2019-001234-15")]
    assert text[refs[0].start:refs[0].end] == "ＮＣＴ０１２３４５６７"
    assert text[refs[1].start:refs[1].end] == "2019‐001234‐15"


def test_several_in_order_and_each_citation_kept():
    text = "NCT01234567 (MIST) and again NCT01234567; doi:10.1016/S0140-6736(15)00001-X."
    refs = find_references(text)
    assert [(r.kind, r.identifier) for r in refs] == [
        (NCT, "NCT01234567"), (NAMED_TRIAL, "MIST"), (NCT, "NCT01234567"), (DOI, "10.1016/s0140-6736(15)00001-x")]
    assert text[refs[3].start:refs[3].end] == "10.1016/S0140-6736(15)00001-X"  # its own parenthesis, not the full stop


@pytest.mark.parametrize("text", [
    "NCT012345678 has nine digits",
    "NCT1234567 has seven",
    "XNCT01234567 is glued to a word",
    "call 2019-001234-155 now",
    "mist over the hills, a Mist of doubt",
    "BEAT-MSX and RAM-MSc are not trials",
    "THE EAST COAST",
    "ISRCTN1234 is too short",
    "CTRI/2020/5/025013 lacks a digit",
    "10.1000/ alone is not a DOI",
    "version 10.12 of the app",
    "jRCT123 is too short",
    "PMID 0 is not one",
])
def test_false_positives(text):
    assert find_references(text) == []


def test_an_eu_ct_number_is_not_also_a_eudract_one():
    refs = find_references("EU CT 2022-500123-45-00")
    assert [(r.kind, r.identifier) for r in refs] == [(EUCT, "2022-500123-45-00")]


def test_links():
    assert reference_url(NCT, "NCT01234567") == "https://clinicaltrials.gov/study/NCT01234567"
    assert reference_url(DOI, "10.1/x") == "https://doi.org/10.1/x"
    assert reference_url(NAMED_TRIAL, "MIST") is None
