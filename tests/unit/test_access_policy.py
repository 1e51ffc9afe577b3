"""The one authorisation policy: role permissions and agency separation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from borderwatch.access.policy import PERMISSIONS, Action, Principal, Resource, Role, decide
from tests.hypothesis_profiles import examples


def principal(role: Role, agency: str = "a") -> Principal:
    return Principal(user_id=1, username=f"{role}_{agency}", role=role, agency=agency)


@pytest.mark.parametrize("action", [Action.CREATE, Action.UPDATE, Action.DELETE])
def test_inspector_cannot_change_risk_profiles(action: Action) -> None:
    decision = decide(principal(Role.INSPECTOR), action, Resource.PROFILE)
    assert not decision.allowed
    assert "inspector" in decision.reason


def test_inspector_records_outcomes_but_analyst_does_not() -> None:
    assert decide(principal(Role.INSPECTOR), Action.CREATE, Resource.OUTCOME).allowed
    assert not decide(principal(Role.ANALYST), Action.CREATE, Resource.OUTCOME).allowed


def test_only_admin_manages_users() -> None:
    for role in Role:
        allowed = decide(principal(role), Action.CREATE, Resource.USER).allowed
        assert allowed == (role is Role.ADMIN)


@settings(max_examples=examples(200))
@given(
    role=st.sampled_from(list(Role)),
    action=st.sampled_from(list(Action)),
    resource=st.sampled_from(list(Resource)),
    own=st.sampled_from(["a", "b", "c"]),
    other=st.sampled_from(["a", "b", "c"]),
)
def test_no_role_reaches_another_agencys_record(
    role: Role, action: Action, resource: Resource, own: str, other: str
) -> None:
    decision = decide(principal(role, own), action, resource, record_agency=other)
    if own != other:
        assert not decision.allowed
    else:
        assert decision.allowed == (action in PERMISSIONS[role].get(resource, frozenset()))


def test_other_agencys_record_is_hidden_not_forbidden() -> None:
    decision = decide(principal(Role.ADMIN, "a"), Action.READ, Resource.DECLARATION, record_agency="b")
    assert not decision.allowed and decision.hide


def test_roles_are_ordered_by_reach() -> None:
    # Every permission of a lower role (except the inspector's case work) is held by the supervisor and admin.
    for role in (Role.ANALYST, Role.INSPECTOR):
        for resource, actions in PERMISSIONS[role].items():
            assert actions <= PERMISSIONS[Role.SUPERVISOR][resource]
            assert actions <= PERMISSIONS[Role.ADMIN][resource]
