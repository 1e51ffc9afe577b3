"""The sharing policy: TLP 2.0 semantics, sharing groups, collections, and who may decide a share."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import pytest

from borderwatch.access.policy import (
    TLP,
    Action,
    CollectionAccess,
    Marking,
    Principal,
    Role,
    decide_collection,
    decide_intel_read,
    decide_share,
)


def who(agency: str, role: Role = Role.ANALYST, via: str = "token") -> Principal:
    return Principal(user_id=1, username=f"{agency}-user", role=role, agency=agency, via=via)


def own(
    tlp: TLP,
    *,
    released: bool = True,
    members: AbstractSet[str] = frozenset(),
    recipients: AbstractSet[str] = frozenset(),
) -> Marking:
    return Marking(
        owner="a",
        source="a",
        tlp=tlp,
        released=released,
        group_members=frozenset(members),
        recipients=frozenset(recipients),
    )


@pytest.mark.parametrize("tlp", list(TLP))
def test_nothing_of_the_owner_leaves_without_a_decision(tlp: TLP) -> None:
    assert decide_intel_read("a", own(tlp, released=False)).allowed
    decision = decide_intel_read("b", own(tlp, released=False, members={"b"}, recipients={"b"}))
    assert not decision.allowed and decision.hide


def test_tlp_levels_of_the_owners_shares() -> None:
    assert decide_intel_read("z", own(TLP.CLEAR)).allowed
    assert decide_intel_read("z", own(TLP.GREEN)).allowed
    for amber in (TLP.AMBER, TLP.AMBER_STRICT):
        assert decide_intel_read("b", own(amber, members={"b", "c"})).allowed
        assert not decide_intel_read("z", own(amber, members={"b", "c"})).allowed
        assert not decide_intel_read("b", own(amber)).allowed  # no group: nobody else
    assert decide_intel_read("b", own(TLP.RED, members={"b", "c"}, recipients={"b"})).allowed
    assert not decide_intel_read("c", own(TLP.RED, members={"b", "c"}, recipients={"b"})).allowed


def test_what_a_partner_sent_is_not_re_shared_above_green() -> None:
    for tlp in TLP:
        marking = Marking(owner="a", source="b", tlp=tlp, released=True, group_members=frozenset({"c"}))
        assert decide_intel_read("a", marking).allowed  # the receiving organisation
        assert decide_intel_read("b", marking).allowed  # the sender
        assert decide_intel_read("c", marking).allowed is (tlp in {TLP.CLEAR, TLP.GREEN})


def test_collection_rights() -> None:
    collection = CollectionAccess(owner="a", readers=frozenset({"b", "w"}), writers=frozenset({"w"}))
    assert decide_collection(who("b"), Action.READ, collection).allowed
    write = decide_collection(who("b"), Action.CREATE, collection)
    assert not write.allowed and not write.hide
    assert decide_collection(who("w"), Action.CREATE, collection).allowed
    hidden = decide_collection(who("z"), Action.READ, collection)
    assert not hidden.allowed and hidden.hide
    assert not decide_collection(who("a", Role.INSPECTOR), Action.CREATE, collection).allowed


def test_only_a_person_with_a_sharing_role_decides() -> None:
    person = who("a", Role.SUPERVISOR, via="session")
    assert decide_share(person, kind="seizure", tlp=TLP.GREEN, agreement_kinds=None).allowed
    assert not decide_share(
        who("a", Role.ANALYST, "session"), kind="seizure", tlp=TLP.GREEN, agreement_kinds=None
    ).allowed
    assert not decide_share(
        who("a", Role.ADMIN, "token"), kind="seizure", tlp=TLP.GREEN, agreement_kinds=None
    ).allowed
    assert not decide_share(person, kind="seizure", tlp=TLP.AMBER, agreement_kinds=None).allowed
    assert decide_share(person, kind="seizure", tlp=TLP.AMBER, agreement_kinds=frozenset({"seizure"})).allowed
    assert not decide_share(
        person, kind="indicator", tlp=TLP.AMBER, agreement_kinds=frozenset({"seizure"})
    ).allowed
    assert not decide_share(person, kind="seizure", tlp=TLP.RED, agreement_kinds=None).allowed
    assert decide_share(
        person, kind="seizure", tlp=TLP.RED, agreement_kinds=None, recipients=frozenset({"b"})
    ).allowed
    assert not decide_share(
        person, kind="indicator", tlp=TLP.GREEN, agreement_kinds=None, received_tlp=TLP.AMBER
    ).allowed
