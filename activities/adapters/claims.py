"""The claims system (SPEC §7, R-CLM): where claims are filed.

Local default: an outbox table that the claims team reads through the API
(`GET /v1/claims?pending=true`); its decision comes back to the ticket as a signal.
Real driver: POST to the claims system's HTTP endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import httpx

from domain.claims import ClaimFiling, ResultLetter
from store.claims import ClaimStore

if TYPE_CHECKING:
    from settings import Settings


class ClaimsGateway(Protocol):
    async def file(self, filing: ClaimFiling) -> None:
        """File `filing`; filing the same ticket twice must not file twice."""

    async def hand_result_letter(self, letter: ResultLetter) -> None:
        """R-CLK-7: hand the result letter to finance; handing it twice must not hand it twice."""


class OutboxClaimsGateway:
    def __init__(self, store: ClaimStore) -> None:
        self._store = store

    async def file(self, filing: ClaimFiling) -> None:
        await self._store.file(filing)

    async def hand_result_letter(self, letter: ResultLetter) -> None:
        await self._store.hand_result_letter(letter.ticket_id, letter.decided_at)


class HttpClaimsGateway:
    """POST {base_url}/claims with an Idempotency-Key per ticket; a 409 means "already filed"."""

    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None, timeout: float = 10.0) -> None:
        self._url = f"{base_url.rstrip('/')}/claims"
        self._timeout = httpx.Timeout(timeout)
        # retries=2 re-tries connection failures only; a request that reached the server is retried
        # by the activity's retry policy, made safe by the Idempotency-Key.
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=self._timeout, transport=httpx.AsyncHTTPTransport(retries=2)
        )

    async def file(self, filing: ClaimFiling) -> None:
        response = await self._client.post(
            self._url,
            json=filing.model_dump(mode="json"),
            headers={"Idempotency-Key": f"claim:{filing.ticket_id}"},
            timeout=self._timeout,
        )
        if response.status_code == httpx.codes.CONFLICT:
            return  # the claims system has this ticket's claim already: filed
        response.raise_for_status()  # an error fails the activity; its retry policy retries

    async def hand_result_letter(self, letter: ResultLetter) -> None:
        """POST {base_url}/claims/{ticket}/result-letter, once per ticket (Idempotency-Key)."""
        response = await self._client.post(
            f"{self._url}/{letter.ticket_id}/result-letter",
            json=letter.model_dump(mode="json"),
            headers={"Idempotency-Key": f"result-letter:{letter.ticket_id}"},
            timeout=self._timeout,
        )
        if response.status_code == httpx.codes.CONFLICT:
            return  # finance has it already
        response.raise_for_status()

    async def aclose(self) -> None:
        """Close the client this gateway made (one handed in stays its owner's to close)."""
        if self._owns_client:
            await self._client.aclose()


def claims_gateway(settings: Settings, store: ClaimStore) -> ClaimsGateway:
    if settings.claims_gateway == "http":
        if not settings.claims_gateway_url:
            raise SystemExit("PARCELCARE_CLAIMS_GATEWAY=http needs PARCELCARE_CLAIMS_GATEWAY_URL")
        return HttpClaimsGateway(settings.claims_gateway_url)
    return OutboxClaimsGateway(store)
