"""PATCH through the `amend` update, on the real dev server (the time-skipping server mishandles updates)."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.calendar import HolidaySource
from domain.claims import ClaimDetails
from domain.kinds import Kind
from domain.messages import Amendment, Assignment, InternalNote, OfferAnswer, StationReply
from domain.shipment import ShipmentFacts, Signing
from domain.statuses import Status
from domain.steps import Action
from tests.workflows.conftest import keep_history, running_worker, until
from workflows.ticket import TicketWorkflow
from workflows.visibility import SEARCH_ATTRIBUTES

DEV_SERVER = Path(sys.executable).parent / "temporal"
# Shipped three days ago, reported today: a claim's 15 days (R-CLK-6) count from the ship date.
DAMAGE = dict(kind=Kind.DAMAGE, shipment=ShipmentFacts(signed=True, signing=Signing.OTHER_WITHOUT_CONSENT,
                                                       ship_date=date.today() - timedelta(days=3)))


@pytest.fixture(scope="module")
async def dev_env():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER), data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES, dev_server_extra_args=["--log-level", "error"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def dev_worker(dev_env, ticket_store):
    async with running_worker(dev_env, ticket_store, HolidaySource(None)) as queue:
        yield queue


async def test_claim_details_asked_for_arrive_by_update_and_the_flow_goes_on(dev_env, dev_worker, weekly_policy, open_ticket):
    """R-DMG-3: the sender is asked for what is missing; each PATCH merges and returns the new state."""
    handle = await open_ticket(dev_env, dev_worker, weekly_policy, **DAMAGE,
                               claim_details=ClaimDetails(contents="a vase"))
    view = await until(dev_env, handle, lambda v: v.status == Status.AWAITING_CLAIM_DETAILS)
    asked = next(s for s in view.steps if s.action == Action.CLAIM_DETAILS_REQUESTED)
    assert asked.data["missing"] == "declared_value, packaging, freight, insured"

    state = await handle.execute_update(TicketWorkflow.amend, Amendment(
        claim_details=ClaimDetails(declared_value=Decimal("800"), packaging="box")))
    assert state.claim_details.missing() == ["freight", "insured"] and state.claim_details.contents == "a vase"
    assert state.status == Status.AWAITING_CLAIM_DETAILS

    state = await handle.execute_update(TicketWorkflow.amend, Amendment(
        claim_details=ClaimDetails(freight=Decimal("12"), insured=False)))
    assert state.claim_details.missing() == []
    view = await until(dev_env, handle, lambda v: v.status == Status.AWAITING_STATION)  # verify with the courier
    amended = [s for s in view.steps if s.action == Action.AMENDED]
    assert [s.data["fields"] for s in amended] == ["claim_details", "claim_details"]
    await keep_history(handle, "damage_claim_details_by_update")


async def test_contact_phone_and_description_change_and_the_step_keeps_no_phone(
    dev_env, dev_worker, weekly_policy, open_ticket
):
    handle = await open_ticket(dev_env, dev_worker, weekly_policy)
    await until(dev_env, handle, lambda v: v.status == Status.AWAITING_STATION)
    state = await handle.execute_update(TicketWorkflow.amend, Amendment(phone="+8613900001111",
                                                                        description="now also the invoice",
                                                                        actor="key:crm-best"))
    assert state.customer.phone == "+8613900001111" and state.description == "now also the invoice"
    step = state.steps[-1]
    assert step.action == Action.AMENDED and step.data == {"fields": "description, phone", "actor": "key:crm-best"}
    assert "13900001111" not in step.note
    await keep_history(handle, "inquiry_phone_and_description_amended")


async def test_an_update_the_flow_can_no_longer_take_is_refused_and_changes_nothing(
    dev_env, dev_worker, weekly_policy, open_ticket
):
    """Claim details after the claim is filed: refused with the reason, the ticket as it was."""
    full = ClaimDetails(contents="a vase", declared_value=Decimal("800"), packaging="box", freight=Decimal("12"),
                        insured=False)
    handle = await open_ticket(dev_env, dev_worker, weekly_policy, **DAMAGE, claim_details=full)
    await until(dev_env, handle, lambda v: v.status == Status.AWAITING_STATION)
    await handle.signal(TicketWorkflow.station_replied, StationReply(station="SH-PD-01", finding="dented"))
    await until(dev_env, handle, lambda v: v.status == Status.AWAITING_OFFER_ANSWER)
    await handle.signal(TicketWorkflow.offer_answered, OfferAnswer(accepted=False))
    before = await until(dev_env, handle, lambda v: v.status == Status.AWAITING_CLAIM)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(TicketWorkflow.amend, Amendment(claim_details=ClaimDetails(freight=Decimal("99"))))
    assert "claim was already filed" in str(refused.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as empty:
        await handle.execute_update(TicketWorkflow.amend, Amendment())
    assert "nothing to change" in str(empty.value.cause)
    after = await handle.query(TicketWorkflow.view)
    assert after == before  # a refused update wrote nothing
    await keep_history(handle, "damage_amendment_refused_after_filing")


async def test_the_desks_updates_record_owner_and_notes_and_the_flow_goes_on(dev_env, dev_worker, weekly_policy,
                                                                             open_ticket):
    """Issue 14: take, hand over and a note are steps of their own; the ticket's flow goes on as before, and a
    refused one (taking a ticket one already has) writes nothing."""
    handle = await open_ticket(dev_env, dev_worker, weekly_policy)
    await until(dev_env, handle, lambda v: v.status == Status.AWAITING_STATION)
    state = await handle.execute_update(TicketWorkflow.take, Assignment(owner="user:a1", actor="user:a1"))
    assert state.owner == "user:a1" and state.steps[-1].action == Action.TAKEN
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(TicketWorkflow.take, Assignment(owner="user:a1", actor="user:a1"))
    state = await handle.execute_update(TicketWorkflow.add_note, InternalNote(text="call after 18:00",
                                                                              actor="user:a1"))
    assert [(n.actor, n.text) for n in state.notes] == [("user:a1", "call after 18:00")]
    state = await handle.execute_update(TicketWorkflow.hand_over, Assignment(owner="user:a2", actor="user:lead"))
    assert state.owner == "user:a2"
    assert state.steps[-1].data == {"owner": "user:a2", "from": "user:a1", "actor": "user:lead"}
    desk = [s.action for s in state.steps if s.action in (Action.TAKEN, Action.NOTE_ADDED, Action.HANDED_OVER)]
    assert desk == [Action.TAKEN, Action.NOTE_ADDED, Action.HANDED_OVER]  # the refused take left no step
    await handle.signal(TicketWorkflow.station_replied, StationReply(station=state.station, finding="here"))
    view = await until(dev_env, handle, lambda v: v.status == Status.AWAITING_CALLBACK)
    assert view.owner == "user:a2" and view.notes[0].text == "call after 18:00"
