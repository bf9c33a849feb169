"""Who may do what (issue 12): roles, the scope each role is held for, and one route's decision.

Pure: no I/O. The API's table of routes (api/auth.py `RULES`) names, for each route, the roles
that may call it and what its scope is checked against; this module decides for one caller.

- A **role** is held for a **scope** of its kind: a client for its carriers, a station and a station
  head for their station codes, an SMS provider's callback for its provider. The other roles are
  held for everything. `*` in a scope means every carrier, station or provider (the development
  key of `make run`).
- A caller whose roles are not among a route's is refused (403): nothing of the resource is read.
- A caller whose roles are, but not for this ticket's carrier or station, is told the ticket does
  not exist (404), exactly as for an unknown id: ticket ids leak nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    CLIENT = "client"  # a CRM: opens, reads and amends tickets of its carriers
    AGENT = "agent"  # the back office: callbacks, customer contacts, offer answers, sender decisions; reads
    TEAM_LEAD = "team_lead"  # leads the agents (issue 14): takes, hands over any ticket, notes; reads
    URGENT_GROUP = "urgent_group"  # reviews urgent tickets before dispatch (R-URG-2); reads
    STATION = "station"  # a station's system: acknowledges and replies for its own codes; reads its outbox
    STATION_HEAD = "station_head"  # decides penalties for its station (R-SVC); reads its outbox
    CLAIMS = "claims"  # the claims team: decisions, the claims list (SPEC §7); reads
    OPS = "ops"  # operations: the directory, every read, the metrics
    ARBITRATION = "arbitration"  # HQ arbitration (总部仲裁组): decides appealed liability rulings (R-LIA-4); reads them
    ADMIN = "admin"  # API keys
    METRICS = "metrics"  # a Prometheus scraper: /metrics and nothing else
    SMS_PROVIDER = "sms_provider"  # a provider's delivery-receipt callback, for its provider


class ScopeKind(StrEnum):
    CARRIERS = "carriers"
    STATIONS = "stations"
    PROVIDERS = "providers"
    EVERYTHING = "everything"


# What each role is held for; a role not named here is held for everything.
ROLE_SCOPES: dict[Role, ScopeKind] = {
    Role.CLIENT: ScopeKind.CARRIERS,
    Role.STATION: ScopeKind.STATIONS,
    Role.STATION_HEAD: ScopeKind.STATIONS,
    Role.SMS_PROVIDER: ScopeKind.PROVIDERS,
}
# Roles that call the customer, and so see the customer's full phone number (each read recorded).
PHONE_READERS = frozenset({Role.AGENT})
EVERY = "*"


def scope_kind(role: Role) -> ScopeKind:
    return ROLE_SCOPES.get(role, ScopeKind.EVERYTHING)


class Principal(BaseModel):
    """Who is calling, as a verified credential says: the actor recorded on every step they cause."""

    model_config = ConfigDict(frozen=True)

    actor: str = Field(max_length=200)  # "key:crm-main" (an API key's name) or "user:<sub>" (an OIDC subject)
    via: Literal["api_key", "oidc"]
    roles: frozenset[Role] = frozenset()
    carriers: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()

    def held_for(self, kind: ScopeKind) -> frozenset[str] | None:
        """The values a scoped role is held for; None: every value."""
        if kind == ScopeKind.EVERYTHING:
            return None
        values: frozenset[str] = getattr(self, kind.value)
        return None if EVERY in values else values

    @property
    def reads_phones(self) -> bool:
        return bool(self.roles & PHONE_READERS)


class Target(StrEnum):
    """What a route's scope is checked against."""

    PUBLIC = "public"  # no credential: health, readiness, the API's own documentation
    NONE = "none"  # the roles decide alone (only roles held for everything may be named)
    STATELESS = "stateless"  # reads and writes no record (a computation): the roles decide, whatever their scope
    TICKET = "ticket"  # the ticket's carrier (client) or station (station, station head): 404 outside
    TICKETS = "tickets"  # a list of tickets, narrowed to what the caller's roles are held for
    STATION = "station"  # the station code in the path: 404 outside
    CARRIER = "carrier"  # the carrier named in the request body: 403 outside
    PROVIDER = "provider"  # the SMS provider in the path: 403 outside


# Which scope kinds a target can check; a role of another kind cannot be named on such a route.
CHECKABLE: dict[Target, frozenset[ScopeKind]] = {
    Target.PUBLIC: frozenset(),
    Target.NONE: frozenset({ScopeKind.EVERYTHING}),
    Target.STATELESS: frozenset(ScopeKind),
    Target.TICKET: frozenset({ScopeKind.EVERYTHING, ScopeKind.CARRIERS, ScopeKind.STATIONS}),
    Target.TICKETS: frozenset({ScopeKind.EVERYTHING, ScopeKind.CARRIERS, ScopeKind.STATIONS}),
    Target.STATION: frozenset({ScopeKind.EVERYTHING, ScopeKind.STATIONS}),
    Target.CARRIER: frozenset({ScopeKind.EVERYTHING, ScopeKind.CARRIERS}),
    Target.PROVIDER: frozenset({ScopeKind.EVERYTHING, ScopeKind.PROVIDERS}),
}


@dataclass(frozen=True)
class Rule:
    """A route's rule: the roles that may call it and what its scope is checked against."""

    roles: frozenset[Role]
    target: Target
    # Where the credential may come from besides `Authorization: Bearer`: a provider's receipt
    # callback is configured with a URL only, so its key travels in the query (`?key=`).
    key_in_query: bool = False

    def __post_init__(self) -> None:
        wrong = {r for r in self.roles if scope_kind(r) not in CHECKABLE[self.target]}
        if wrong:
            raise ValueError(f"a {self.target.value} route cannot check the scope of {sorted(wrong)}")
        if (self.target == Target.PUBLIC) != (not self.roles):
            raise ValueError("a public route names no role, and every other route names some")


@dataclass(frozen=True)
class Visible:
    """What a list of tickets may show: tickets of these carriers, or at these stations.
    None for both: every ticket."""

    carriers: frozenset[str] | None
    stations: frozenset[str] | None

    @property
    def everything(self) -> bool:
        return self.carriers is None and self.stations is None


@dataclass(frozen=True)
class Access:
    """A caller let through a route: who, and which of their roles the route takes."""

    principal: Principal
    rule: Rule
    granted: frozenset[Role]

    @property
    def actor(self) -> str:
        return self.principal.actor

    def _sees(self, kind: ScopeKind, value: str | None) -> bool:
        for role in self.granted:
            if scope_kind(role) not in (kind, ScopeKind.EVERYTHING):
                continue
            held = self.principal.held_for(scope_kind(role))
            if held is None or (value is not None and value in held):
                return True
        return False

    def sees_ticket(self, carrier: str, station: str) -> bool:
        """Whether the ticket is within the caller's scope for this route (else it is a 404)."""
        return self._sees(ScopeKind.CARRIERS, carrier) or self._sees(ScopeKind.STATIONS, station)

    def sees_station(self, station: str) -> bool:
        return self._sees(ScopeKind.STATIONS, station)

    def sees_carrier(self, carrier: str) -> bool:
        return self._sees(ScopeKind.CARRIERS, carrier)

    def sees_provider(self, provider: str) -> bool:
        return self._sees(ScopeKind.PROVIDERS, provider)

    def visible(self) -> Visible:
        """The tickets a list shows this caller."""
        carriers: set[str] = set()
        stations: set[str] = set()
        for role in self.granted:
            kind = scope_kind(role)
            held = self.principal.held_for(kind)
            if held is None:
                return Visible(None, None)
            (carriers if kind == ScopeKind.CARRIERS else stations).update(held)
        return Visible(frozenset(carriers), frozenset(stations))


@dataclass(frozen=True)
class Denied:
    """A caller whose roles the route does not take: 403 with the reason."""

    reason: str


def decide(principal: Principal, rule: Rule) -> Access | Denied:
    """Let the caller through the route by role, or say why not; scopes are checked where the
    resource is known (the path here and there, the ticket when it has been read)."""
    granted = frozenset(principal.roles & rule.roles)
    if not granted:
        takes = ", ".join(sorted(rule.roles))
        held = ", ".join(sorted(principal.roles)) or "no role"
        return Denied(f"this route is for {takes}; the credential of {principal.actor} holds {held}")
    return Access(principal, rule, granted)
