"""The simulated eUICC's rules: space, one enabled profile, deletes, injected faults."""

from __future__ import annotations

import pytest

from mobileplans.kit.esim import ESimOperationStatus
from mobileplans.kit.identifiers import IdentifierError
from mobileplans.simulator.euicc import Euicc, EuiccError, EuiccProfile, ProfileState
from tests.support import valid_iccid

EID = "89049032000000000000000000000163"


def profile(n: int, operator: str | None = "contoso") -> EuiccProfile:
    return EuiccProfile(valid_iccid(f"89019990000000{n:04d}"), operator, "Contoso", f"p{n}")


def test_the_eid_is_validated() -> None:
    with pytest.raises(IdentifierError):
        Euicc("89049032000000000000000000000164")


def test_install_then_enable_one_at_a_time() -> None:
    card = Euicc(EID)
    first, second = profile(1), profile(2)
    card.install(first)
    card.install(second)
    assert first.state is ProfileState.DISABLED
    assert card.enabled is None
    assert card.enable(first.iccid) is None
    assert card.enabled is first
    assert card.enable(second.iccid) == first.iccid
    assert first.state is ProfileState.DISABLED
    assert second.state is ProfileState.ENABLED
    assert card.enable(second.iccid) is None  # already enabled: nothing else switched
    assert [p.state for p in card.profiles].count(ProfileState.ENABLED) == 1


def test_a_full_card_refuses_with_insufficient_space() -> None:
    card = Euicc(EID, capacity=1)
    card.install(profile(1))
    with pytest.raises(EuiccError) as failure:
        card.install(profile(2))
    assert failure.value.status is ESimOperationStatus.InsufficientSpaceOnCard
    assert card.iccids() == [profile(1).iccid]


def test_the_same_iccid_installs_once() -> None:
    card = Euicc(EID)
    card.install(profile(1))
    with pytest.raises(EuiccError) as failure:
        card.install(profile(1))
    assert failure.value.status is ESimOperationStatus.Other


def test_an_enabled_profile_is_not_deleted_and_unknown_ones_are_not_present() -> None:
    card = Euicc(EID)
    card.install(profile(1))
    card.enable(profile(1).iccid)
    with pytest.raises(EuiccError) as refused:
        card.delete(profile(1).iccid)
    assert refused.value.status is ESimOperationStatus.PolicyViolation
    card.disable(profile(1).iccid)
    card.delete(profile(1).iccid)
    assert card.profiles == []
    assert card.free_slots == card.capacity
    with pytest.raises(EuiccError) as missing:
        card.enable(profile(1).iccid)
    assert missing.value.status is ESimOperationStatus.ProfileNotPresent


def test_injected_faults_fire_the_given_number_of_times() -> None:
    card = Euicc(EID)
    card.inject_fault("install", ESimOperationStatus.CardBusy, times=2)
    for _ in range(2):
        with pytest.raises(EuiccError) as busy:
            card.install(profile(1))
        assert busy.value.status is ESimOperationStatus.CardBusy
    card.install(profile(1))
    card.inject_fault("enable", ESimOperationStatus.CardGeneralFailure)
    with pytest.raises(EuiccError):
        card.enable(profile(1).iccid)
    assert card.enabled is None
    card.enable(profile(1).iccid)
    assert card.enabled is not None


def test_fault_injection_arguments_are_checked() -> None:
    card = Euicc(EID)
    with pytest.raises(ValueError, match="operation"):
        card.inject_fault("format", ESimOperationStatus.CardBusy)
    with pytest.raises(ValueError, match="failure status"):
        card.inject_fault("install", ESimOperationStatus.Success)
    with pytest.raises(ValueError, match="capacity"):
        Euicc(EID, capacity=-1)


def test_iccids_by_operator() -> None:
    card = Euicc(EID)
    card.install(profile(1))
    card.install(profile(2, operator=None))
    assert card.iccids("contoso") == [profile(1).iccid]
    assert len(card.iccids()) == 2
