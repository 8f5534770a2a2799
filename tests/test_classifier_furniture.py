"""classifier.furniture: page furniture is recognised, prose is not; furniture never shows a signal."""

from __future__ import annotations

import pytest

from classifier.furniture import is_furniture

FURNITURE = [
    "Anna Berg1, Tomás Ruiz2,*, Li Wei1 and Karin Holm3",
    "1 Department of Neurology, Uppsala University Hospital, Uppsala, Sweden",
    "Received: 12 March 2021; Accepted: 3 June 2021",
    "doi: 10.1136/jnnp-2021-123456",
    "Keywords: multiple sclerosis; HSCT; MSC",
    "1. Muraro PA, Pasquini M, Atkins HL, et al. Long-term outcomes after autologous HSCT. JAMA Neurol. 2017;74(4):459-469.",
    "J Neurol Neurosurg Psychiatry 2019;90:1-8.",
    "[00:02:15]",
    "Home | Treatments | About us | Contact",
    "Home › Conditions › Multiple sclerosis",
    "We use cookies to improve your experience. Accept all",
    "Sign in to comment",
    "Reply",
    "12 comments",
    "Share this article",
    "Recruitment Status: Recruiting",
    "Sponsor: Nuvacel Regenerative Center",
    "© 2024 StemLife Clinic. All rights reserved",
]
PROSE = [
    "Our patients walk out of the clinic free of MS.",
    "Scientists reverse MS with stem cells",
    "I have had no relapses since my treatment in Moscow.",
    "In the MIST trial, 3 of 52 progressed, versus 34 of 51.",
    "[00:02:15] Host: So after the transplant you could walk again without a cane?",
    "Like many patients, I was sceptical at first.",
    "Stem cell therapy for MS costs $15,000 at our clinic in Cancun, Mexico.",
    "Department of Neurology patients can be referred by their neurologist for assessment.",
    "Book your free consultation today!",
    "What is stem cell therapy for multiple sclerosis?",
    "The University Hospital in Sheffield, Uppsala and Ottawa have treated hundreds of patients, with a mortality of under 1%.",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_furniture_is_recognised(line):
    assert is_furniture(line)


@pytest.mark.parametrize("line", PROSE)
def test_prose_and_headlines_are_not_furniture(line):
    assert not is_furniture(line)


def test_furniture_never_serves_as_evidence(model_dir):
    from classifier.registry import ModelRegistry

    model, _ = ModelRegistry(model_dir).load()
    text = ("Stem cells cure multiple sclerosis: our clinic reverses MS in every patient, with no side effects.\n"
            "Anna Berg1, Tomás Ruiz2,*, Li Wei1 and Karin Holm3\n"
            "1 Department of Neurology, Stem Cell Cure Clinic, Cancun, Mexico\n"
            "Received: 12 March 2021; Accepted: 3 June 2021\n"
            "Home | Stem cell cure | Book now | Contact")
    score = model.score(text)
    evidence = [e.text for result in score.signals.values() for e in result.evidence]
    assert evidence and all(not is_furniture(sentence) for sentence in evidence)
