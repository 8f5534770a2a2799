"""classifier.trials: each judgement from a record and a citing page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pytest

from classifier.trials import (
    IN_PROGRESS,
    NO_RESULTS,
    NOT_CELL_THERAPY,
    NOT_FOUND,
    NOT_MS,
    PARTICIPANTS_PAY,
    SELF_SPONSORED,
    STOPPED,
    UNVERIFIED,
    VERIFIED,
    PageContext,
    judge,
    participants_pay,
    sponsor_is_site,
)

TODAY = dt.date(2026, 12, 1)


@dataclass(frozen=True)
class Record:
    found: bool = True
    title: str | None = "Autologous haematopoietic stem cell transplantation in relapsing multiple sclerosis"
    conditions: tuple[str, ...] = ("Multiple Sclerosis, Relapsing-Remitting",)
    interventions: tuple[str, ...] = ("Autologous hematopoietic stem cell transplantation",)
    overall_status: str | None = "COMPLETED"
    completion_date: str | None = "2019-06"
    sponsor: str | None = "Northfield University Hospital"
    results_posted: bool = True


PAGE = PageContext("Our partner trial NCT01234567 showed results.", "news.example.org", "Example News")


def test_verified_when_everything_holds():
    assert judge(Record(), PAGE, today=TODAY) == (VERIFIED,)


def test_unverified_without_a_record_and_not_found():
    assert judge(None, PAGE, today=TODAY) == (UNVERIFIED,)
    assert judge(Record(found=False), PAGE, today=TODAY) == (NOT_FOUND,)


@pytest.mark.parametrize(("change", "expected"), [
    ({"title": "Exercise in knee osteoarthritis", "conditions": ("Osteoarthritis, Knee",)}, NOT_MS),
    ({"title": "Ocrelizumab in multiple sclerosis", "interventions": ("Ocrelizumab",)}, NOT_CELL_THERAPY),
    ({"overall_status": "WITHDRAWN"}, STOPPED),
    ({"overall_status": "TERMINATED"}, STOPPED),
    ({"overall_status": "SUSPENDED"}, STOPPED),
    ({"overall_status": "UNKNOWN"}, STOPPED),
    ({"results_posted": False, "completion_date": "2021-03-31"}, NO_RESULTS),
    ({"sponsor": "Acmeregen Clinic"}, SELF_SPONSORED),
])
def test_each_misuse(change, expected):
    page = PageContext(PAGE.text, "www.acmeregen.com", "Acmeregen")
    record = replace(Record(), **change)
    base = replace(Record(), sponsor="Northfield University Hospital")
    assert judge(base, page, today=TODAY) == (VERIFIED,)
    assert expected in judge(record, page, today=TODAY)


def test_results_not_yet_due_and_still_recruiting_are_in_progress():
    assert judge(Record(results_posted=False, completion_date="2026-03"), PAGE, today=TODAY) == (IN_PROGRESS,)
    assert judge(Record(overall_status="RECRUITING", results_posted=False), PAGE, today=TODAY) == (IN_PROGRESS,)


def test_participants_pay():
    assert participants_pay("Patients pay to join our stem cell study.")
    assert participants_pay("This is a patient-funded trial.")
    assert participants_pay("Participation in the trial costs $25,000 per patient.")
    assert participants_pay("Die Studie: 18.000 EUR for participation in the study.")
    assert not participants_pay("The trial was funded by the national research council.")
    assert not participants_pay("Treatment costs $40,000. Separately, a trial is under way.")
    page = PageContext("Join our trial NCT01234567: the participation fee is modest.")
    assert PARTICIPANTS_PAY in judge(Record(), page, today=TODAY)


def test_sponsor_matching():
    assert sponsor_is_site("Regenera Stem Cell Institute", PageContext("", "regenera-clinic.mx"))
    assert sponsor_is_site("Cellvida Ltd", PageContext("", "example.com", "Cellvida Clinic"))
    assert not sponsor_is_site("University Hospital", PageContext("", "stemcellclinic.com", "Stem Cell Clinic"))
    assert not sponsor_is_site(None, PAGE)
