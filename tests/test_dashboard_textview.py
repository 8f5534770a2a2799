"""Evidence highlighting, version diffs and the security helpers, on small exact inputs."""

from __future__ import annotations

import base64

from dashboard.security import basic_auth_user, csrf_tokens_match, is_loopback_host, new_csrf_token, safe_link
from dashboard.textview import Segment, diff_versions, evidence_marks, highlight

TEXT = "First sentence here. It cures MS forever.\nOur clinic, call now! Risks: infection."


def test_highlight_marks_each_signal_span_and_keeps_every_character():
    cure = TEXT.index("It cures")
    marks = evidence_marks(TEXT, {
        "cure_claim": [{"text": "It cures MS forever.", "start": cure, "end": cure + 20}],
        "clinic_promotion": [{"text": "Our clinic, call now!", "start": 0, "end": 3}],  # stale offsets
    }) + evidence_marks(TEXT, {"risk_disclosure": [{"text": "Risks: infection.", "start": -1, "end": 0}]}, counter=True)
    paragraphs = highlight(TEXT, marks)
    assert len(paragraphs) == 2
    assert "".join(s.text for s in paragraphs[0]) + "\n" + "".join(s.text for s in paragraphs[1]) == TEXT
    assert Segment("It cures MS forever.", ("cure_claim",), ()) in paragraphs[0]
    assert Segment("Our clinic, call now!", ("clinic_promotion",), ()) in paragraphs[1]
    assert Segment("Risks: infection.", (), ("risk_disclosure",)) in paragraphs[1]


def test_overlapping_evidence_carries_both_signals_and_missing_quotes_are_dropped():
    marks = evidence_marks(TEXT, {"cure_claim": [{"text": "It cures MS forever."}],
                                  "testimonial": [{"text": "cures MS"}],
                                  "risk_minimisation": [{"text": "not in the text"}]})
    segments = highlight(TEXT, marks)[0]
    assert Segment("cures MS", ("cure_claim", "testimonial"), ()) in segments
    assert not any("risk_minimisation" in s.signals for s in segments)


def test_diff_shows_changed_words_and_added_paragraphs():
    old = "Intro stays.\nThe treatment may help some patients.\nEnd."
    new = "Intro stays.\nThe treatment cures all patients.\nEnd.\nBook now."
    lines = diff_versions(old, new)
    kinds = [line.kind for line in lines]
    assert "changed" in kinds and kinds[-1] == "added"
    changed = next(line for line in lines if line.kind == "changed")
    assert ("removed", "may help some ") in changed.segments and ("added", "cures all ") in changed.segments


def test_only_http_links_are_links():
    assert safe_link("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,x",
                "vbscript:x", "file:///etc/passwd", "//evil.example/x", "http://", "https://a.example/\nx", None, ""):
        assert safe_link(bad) is None, bad


def test_csrf_tokens_must_match_and_be_signed():
    secret, other = b"k" * 32, b"o" * 32
    token = new_csrf_token(secret, None)
    assert csrf_tokens_match(secret, None, token, token)
    assert not csrf_tokens_match(secret, None, token, new_csrf_token(secret, None))
    forged = new_csrf_token(other, None)
    assert not csrf_tokens_match(secret, None, forged, forged)
    assert not csrf_tokens_match(secret, None, None, token)


def test_basic_auth_and_loopback():
    header = "Basic " + base64.b64encode(b"analyst:pw:with:colons").decode()
    assert basic_auth_user(header, "analyst", "pw:with:colons") == "analyst"
    assert basic_auth_user(header, "analyst", "other") is None
    assert basic_auth_user("Basic !!!", "analyst", "pw") is None
    assert basic_auth_user(None, "analyst", "pw") is None
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("192.168.1.5") and not is_loopback_host("example.org")
