"""Training roles in the one policy: trainees play and see only their own results; instructors see the cohort;
neither reaches live records."""

from __future__ import annotations

import pytest

from borderwatch.access.policy import Action, Principal, Resource, Role, decide, decide_training_result


def who(role: Role, name: str = "kim", agency: str = "a") -> Principal:
    return Principal(user_id=1, username=name, role=role, agency=agency)


@pytest.mark.parametrize(
    "resource", [Resource.DECLARATION, Resource.CASE, Resource.WORKLIST, Resource.TRAVELLER]
)
def test_trainees_and_instructors_do_not_reach_live_records(resource: Resource) -> None:
    for role in (Role.TRAINEE, Role.INSTRUCTOR):
        assert not decide(who(role), Action.READ, resource).allowed


def test_a_trainee_plays_and_sees_only_their_own_results() -> None:
    trainee = who(Role.TRAINEE)
    assert decide(trainee, Action.READ, Resource.TRAINING).allowed
    assert not decide(trainee, Action.CREATE, Resource.TRAINING).allowed  # no scenario writing
    own = decide_training_result(trainee, Action.READ, owner="kim", record_agency="a")
    other = decide_training_result(trainee, Action.READ, owner="lee", record_agency="a")
    cohort = decide_training_result(trainee, Action.READ, owner=None, record_agency="a")
    assert own.allowed and not other.allowed and other.hide and not cohort.allowed


def test_an_instructor_sees_the_cohort_of_their_agency_only() -> None:
    instructor = who(Role.INSTRUCTOR, "park")
    assert decide_training_result(instructor, Action.READ, owner=None, record_agency="a").allowed
    assert decide_training_result(instructor, Action.READ, owner="kim", record_agency="a").allowed
    elsewhere = decide_training_result(instructor, Action.READ, owner="kim", record_agency="b")
    assert not elsewhere.allowed and elsewhere.hide


def test_officers_practise_too_but_see_only_their_own_results() -> None:
    inspector = who(Role.INSPECTOR)
    assert decide(inspector, Action.READ, Resource.TRAINING).allowed
    assert not decide_training_result(inspector, Action.READ, owner=None, record_agency="a").allowed
    assert decide_training_result(who(Role.SUPERVISOR), Action.READ, owner=None, record_agency="a").allowed


def test_nobody_submits_an_attempt_in_another_officers_name() -> None:
    instructor = who(Role.INSTRUCTOR, "park")
    refused = decide_training_result(instructor, Action.CREATE, owner="kim", record_agency="a")
    assert not refused.allowed and refused.hide
    assert decide_training_result(who(Role.TRAINEE), Action.CREATE, owner="kim", record_agency="a").allowed
