"""The claim-filing activity: what retrying can fix is retried, what it cannot is shown to ops."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.tickets import TicketActivities
from domain.claims import ClaimDetails, ClaimFiling
from domain.customer import Customer, CustomerRole
from domain.kinds import Kind

FILING = ClaimFiling(ticket_id="t1", kind=Kind.LOSS, carrier="best", waybill="123456789012",
                     claimant=Customer(name="张三", phone="+8613812345678", role=CustomerRole.SENDER),
                     details=ClaimDetails(contents="books"), reason="loss confirmed",
                     filed_at=datetime(2025, 1, 1, tzinfo=UTC))


class _Refusing:
    def __init__(self, status: int) -> None:
        self.status = status

    async def file(self, filing: ClaimFiling) -> None:
        request = httpx.Request("POST", "http://claims.test/claims")
        raise httpx.HTTPStatusError("refused", request=request, response=httpx.Response(self.status, request=request))


@pytest.mark.parametrize("status, retried", [(422, False), (400, False), (429, True), (503, True), (408, True)])
async def test_claims_refusals_retrying_cannot_fix_are_not_retried(status, retried):
    acts = TicketActivities(store=None, stations=None, claims=_Refusing(status), claim_store=None)
    with pytest.raises((ApplicationError, httpx.HTTPStatusError)) as err:
        await ActivityEnvironment().run(acts.file_claim, FILING)
    if retried:
        assert isinstance(err.value, httpx.HTTPStatusError)
    else:
        assert isinstance(err.value, ApplicationError) and err.value.non_retryable
        assert f"HTTP {status}" in str(err.value)
