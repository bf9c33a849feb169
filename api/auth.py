"""Who may call what (issue 12): one table of routes, and the gate every request passes first.

`RULES` is the table: for each route (method and template), the roles that may call it and what
its scope is checked against (security/access.py says what each target means). It is data, read
by the gate, by the OpenAPI document (401/403 and the security schemes of each operation), by the
README's table (tests/api/test_authorization.py checks they agree) and by the authorization matrix
test, which also fails when a route has no row.

The gate runs in the door (api/door.py) before the body is read:

1. the route is found; a public one (health, readiness, the API's own documentation) passes;
2. the credential is read: `Authorization: Bearer <API key or OIDC access token>`, or, only on the
   SMS receipt routes (providers are configured with a URL alone), `?key=<API key>`; none, or one
   that verifies to nobody (unknown, revoked, expired, another audience, a bad signature), is a 401
   naming why, in the API's one error shape, with `WWW-Authenticate: Bearer`;
3. roles: a caller whose roles are not the route's gets a 403 naming both;
4. scopes known from the path: another station's outbox is a 404, another provider's receipts a 403.

What is left needs the resource: the routes check the ticket's carrier or station once they have
read it (`ticket_view(…, access)`: 404 outside, exactly as for an unknown id), the carrier of a new
ticket (403), and narrow lists. A route without a row is refused (403) and logged as a bug.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, FastAPI, Request
from fastapi.routing import iter_route_contexts
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Scope

from api.door import match_route
from api.errors import RECORD_OUTAGES, RETRY_AFTER_SECONDS, correlation_id, error_response, problem
from api.schemas import TicketOut
from domain.escalation import masked_phone
from security.access import Access, Denied, Principal, Role, Rule, Target, decide
from security.keys import CredentialRefused, looks_like_key
from security.oidc import IdentityProviderUnavailable, OidcVerifier
from settings import Settings
from store.audit import PiiRead

log = logging.getLogger("parcelcare.api")

R = Role
# Who reads tickets: the CRM (its carriers), the agents who call, the urgent group and the claims team
# who decide on them, ops. Stations and station heads read their outbox, never a customer's ticket.
READERS = frozenset({R.CLIENT, R.AGENT, R.TEAM_LEAD, R.URGENT_GROUP, R.CLAIMS, R.OPS})
_T = "/v1/tickets/{ticket_id}"


def _rule(*roles: Role, target: Target = Target.NONE, key_in_query: bool = False) -> Rule:
    return Rule(frozenset(roles), target, key_in_query)


PUBLIC = Rule(frozenset(), Target.PUBLIC)

RULES: dict[tuple[str, str], Rule] = {
    # Open to anyone: liveness, readiness, the API's own documentation.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/docs-assets/redoc.local.js"): PUBLIC,
    ("GET", "/docs-assets"): PUBLIC,  # Swagger UI's and ReDoc's files (a mount: every path below it)
    # The desk's pages (issue 14): shells without data, and their script and style. The data comes from the
    # routes below, called by the page with the key the person gives it (Authorization: Bearer).
    ("GET", "/desk"): PUBLIC,
    ("GET", "/desk/tickets/{ticket_id}"): PUBLIC,
    ("GET", "/stations/{station}"): PUBLIC,
    ("GET", "/desk-assets"): PUBLIC,
    # Tickets.
    ("POST", "/v1/tickets"): _rule(R.CLIENT, target=Target.CARRIER),
    ("GET", "/v1/tickets"): _rule(*READERS, target=Target.TICKETS),
    ("GET", _T): _rule(*READERS, target=Target.TICKET),
    ("PATCH", _T): _rule(R.CLIENT, target=Target.TICKET),
    ("GET", f"{_T}/messages"): _rule(*READERS, target=Target.TICKET),
    # The answers a ticket waits for, each from the role that gives it.
    ("POST", f"{_T}/station-acks"): _rule(R.STATION, target=Target.TICKET),
    ("POST", f"{_T}/station-replies"): _rule(R.STATION, target=Target.TICKET),
    ("POST", f"{_T}/callbacks"): _rule(R.AGENT, target=Target.TICKET),
    ("POST", f"{_T}/customer-contacts"): _rule(R.AGENT, target=Target.TICKET),
    ("POST", f"{_T}/offer-answers"): _rule(R.AGENT, target=Target.TICKET),
    ("POST", f"{_T}/sender-decisions"): _rule(R.AGENT, target=Target.TICKET),
    ("POST", f"{_T}/urgent-reviews"): _rule(R.URGENT_GROUP, target=Target.TICKET),
    ("POST", f"{_T}/penalty-decisions"): _rule(R.STATION_HEAD, target=Target.TICKET),
    ("POST", f"{_T}/claim-decisions"): _rule(R.CLAIMS, target=Target.TICKET),
    # The desk (issue 14): who has the ticket, and internal notes.
    ("POST", f"{_T}/take"): _rule(R.AGENT, R.TEAM_LEAD, target=Target.TICKET),
    ("POST", f"{_T}/hand-over"): _rule(R.AGENT, R.TEAM_LEAD, target=Target.TICKET),
    ("POST", f"{_T}/notes"): _rule(R.AGENT, R.TEAM_LEAD, target=Target.TICKET),
    # Outboxes and the front desk.
    ("GET", "/v1/stations/{station}/dispatches"): _rule(R.STATION, R.STATION_HEAD, R.OPS, target=Target.STATION),
    ("GET", "/v1/claims"): _rule(R.CLAIMS, R.OPS),
    ("GET", "/v1/claims/{ticket_id}"): _rule(R.CLAIMS, R.OPS),
    ("POST", "/v1/shipments/status-check"): _rule(R.CLIENT, R.AGENT, target=Target.STATELESS),
    # Quality management (issue 15): liability rulings, answered by the responsible station's system or head,
    # arbitrated by HQ; the indicators and the scorecard for ops and station heads (their own stations).
    ("GET", "/v1/rulings"): _rule(R.STATION, R.STATION_HEAD, R.ARBITRATION, R.OPS, target=Target.TICKETS),
    ("GET", "/v1/rulings/{ticket_id}"): _rule(R.STATION, R.STATION_HEAD, R.ARBITRATION, R.OPS, target=Target.TICKET),
    ("POST", "/v1/rulings/{ticket_id}/acceptance"): _rule(R.STATION, R.STATION_HEAD, target=Target.TICKET),
    ("POST", "/v1/rulings/{ticket_id}/appeal"): _rule(R.STATION, R.STATION_HEAD, target=Target.TICKET),
    ("POST", "/v1/rulings/{ticket_id}/arbitration"): _rule(R.ARBITRATION, target=Target.TICKET),
    ("GET", "/v1/quality/indicators"): _rule(R.STATION_HEAD, R.OPS, target=Target.TICKETS),
    ("GET", "/v1/quality/scorecard"): _rule(R.STATION_HEAD, R.OPS, target=Target.TICKETS),
    ("GET", "/v1/quality/scorecard-inputs"): _rule(R.OPS),
    ("POST", "/v1/quality/scorecard-inputs"): _rule(R.OPS),
    ("GET", "/v1/quality/reports"): _rule(R.OPS),
    ("GET", "/v1/quality/reports/{report_id}"): _rule(R.OPS),
    # The reports page and its files: no data in them (the page asks the API with the reader's credential).
    ("GET", "/reports"): PUBLIC,
    ("GET", "/reports-assets"): PUBLIC,
    # Operations.
    ("GET", "/v1/directory"): _rule(R.OPS),
    ("PUT", "/v1/directory/{role}/{scope}"): _rule(R.OPS),
    ("DELETE", "/v1/directory/{role}/{scope}/{phone}"): _rule(R.OPS),
    ("GET", "/metrics"): _rule(R.OPS, R.METRICS),
    ("POST", "/v1/sms/receipts/{provider}"): _rule(R.SMS_PROVIDER, target=Target.PROVIDER, key_in_query=True),
    ("POST", "/v1/messages/{key}/release"): _rule(R.OPS),  # an SMS whose fate stayed unknown (R-ESC-5)
    ("POST", "/v1/messages/{key}/cancel"): _rule(R.OPS),
    # API keys.
    ("GET", "/v1/keys"): _rule(R.ADMIN, R.OPS),  # every read is ops': names, roles and scopes, never a key
    ("POST", "/v1/keys"): _rule(R.ADMIN),
    ("DELETE", "/v1/keys/{key_id}"): _rule(R.ADMIN),
}

_CHALLENGE = 'Bearer realm="parcelcare"'
_ASK = ("send 'Authorization: Bearer <credential>': an API key of this API (pck_…) or an access token "
        "of the identity provider")


def rules_table() -> str:
    """RULES as the README shows them (a Markdown table, one row a route)."""
    lines = ["| route | roles | scope |", "|---|---|---|"]
    for (method, path), rule in RULES.items():
        roles = "anyone, no credential" if rule.target == Target.PUBLIC else ", ".join(sorted(rule.roles))
        lines.append(f"| `{method} {path}` | {roles} | {_SCOPE_WORDS[rule.target]} |")
    return "\n".join(lines)


_SCOPE_WORDS = {
    Target.PUBLIC: "",
    Target.NONE: "",
    Target.STATELESS: "",
    Target.TICKET: "the ticket's carrier (client) or station (station roles); else 404",
    Target.TICKETS: "only tickets of the caller's carriers (client)",
    Target.STATION: "the station in the path (station roles); else 404",
    Target.CARRIER: "the carrier in the body (client); else 403",
    Target.PROVIDER: "the provider in the path; else 403",
}


# --- the gate ----------------------------------------------------------------------------------

class Gate:
    """Authenticates and authorises each request before its body is read (api/door.py calls it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Misconfigured (an issuer without an audience, an HMAC algorithm): the API refuses to start, saying why.
        self._oidc = OidcVerifier(settings) if settings.oidc_issuer else None

    async def __call__(self, scope: Scope) -> ASGIApp | None:
        """An answer refusing the request, or None to let it through (its Access in the request state)."""
        app = scope["app"]
        found = match_route(app, scope)
        if found is None:
            return None  # no such route (404) or not with this method (405): the router answers
        route, params = found
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        rule = app.state.access_rules.get((method, route.path))
        if rule is None:
            log.error("no access rule for %s %s: refused; add it to api/auth.py RULES [correlation_id=%s]",
                      method, route.path, correlation_id(scope))
            return _refuse(scope, 403, [], f"{method} {route.path} has no access rule yet, so nobody may call it",
                           "forbidden")
        if rule.target == Target.PUBLIC:
            return None
        credential, where = _credential(scope, rule)
        if credential is None:
            return _refuse(scope, 401, where, f"this route needs a credential: {_ASK}"
                           + (", or the provider's key as ?key=…" if rule.key_in_query else ""), "unauthenticated")
        try:
            principal = await self.principal(app, credential)
        except CredentialRefused as exc:
            return _refuse(scope, 401, where, str(exc), "unauthenticated")
        except RECORD_OUTAGES as exc:
            log.warning("record unavailable for a key check (%s) [correlation_id=%s]", type(exc).__name__,
                        correlation_id(scope))
            return _unavailable(scope, "database", "the record (database) is unavailable, so the API key cannot be "
                                "checked; try again shortly")
        except IdentityProviderUnavailable as exc:
            return _unavailable(scope, "identity_provider", f"{exc}; tokens cannot be verified now, try again shortly")
        decision = decide(principal, rule)
        if isinstance(decision, Denied):
            return _refuse(scope, 403, [], decision.reason, "forbidden")
        if rule.target == Target.STATION and not decision.sees_station(params.get("station", "")):
            return _refuse(scope, 404, [], f"no outbox of station {params.get('station')} for "
                                            f"{principal.actor}", "not_found")
        if rule.target == Target.PROVIDER and not decision.sees_provider(params.get("provider", "")):
            return _refuse(scope, 403, [], f"the key of {principal.actor} is not for {params.get('provider')}'s "
                                            "receipts", "forbidden")
        scope.setdefault("state", {})["access"] = decision
        log.info("%s %s by %s [correlation_id=%s]", method, route.path, principal.actor, correlation_id(scope))
        return None

    async def principal(self, app, credential: str) -> Principal:
        if looks_like_key(credential):
            return await app.state.keys.principal(credential)
        if self._oidc is None:
            raise CredentialRefused("the credential is not an API key of this API, and this API takes no "
                                    "tokens: no identity provider is configured (PARCELCARE_OIDC_ISSUER)")
        return await self._oidc.principal(credential)


def _credential(scope: Scope, rule: Rule) -> tuple[str | None, list[str]]:
    """The credential and where it came from: on the receipt routes the URL's key, which is what a
    provider sends; elsewhere, and there without one, `Authorization: Bearer`."""
    if rule.key_in_query:
        for name, given in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if name == "key" and given:
                return given, ["query", "key"]
    scheme, _, value = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), ["header", "Authorization"]
    return None, ["header", "Authorization"]


def _refuse(scope: Scope, status: int, loc: list, msg: str, type_: str):
    headers = {"WWW-Authenticate": _CHALLENGE + (', error="invalid_token"' if "Authorization" in loc else "")} \
        if status == 401 else None
    return error_response(scope, status, [problem(loc, msg, type_)], headers=headers)


def _unavailable(scope: Scope, what: str, msg: str):
    return error_response(scope, 503, [problem([], msg, f"{what}_unavailable")],
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


# --- what routes use -----------------------------------------------------------------------------

def _access(request: Request) -> Access:
    access = request.scope.get("state", {}).get("access")
    if access is None:  # the gate lets no request through to a protected route without one
        raise RuntimeError(f"no access decided for {request.method} {request.url.path}")
    return access


AccessDep = Annotated[Access, Depends(_access)]


async def shown(request: Request, access: Access, view: TicketOut) -> TicketOut:
    """The ticket as this caller may see it: the customer's phone in full only for roles that call the
    customer (agents), each such read recorded (who, which ticket, when, by which request); masked
    (+86138****5678) for everyone else, and whenever the read cannot be recorded."""
    if access.principal.reads_phones:
        route = request.scope.get("route")
        read = PiiRead(at=datetime.now(UTC), actor=access.actor, ticket_id=view.ticket_id, field="customer.phone",
                       route=f"{request.method} {getattr(route, 'path', request.url.path)}",
                       correlation_id=correlation_id(request))
        try:
            await request.app.state.audit.record(read)
        except RECORD_OUTAGES as exc:
            log.warning("ticket %s: the phone read by %s cannot be recorded (%s): shown masked [correlation_id=%s]",
                        view.ticket_id, access.actor, type(exc).__name__, read.correlation_id)
        else:
            log.info("ticket %s: customer.phone read by %s [correlation_id=%s]", view.ticket_id, access.actor,
                     read.correlation_id)
            return view
    return masked(view)


def masked(view):
    """A ticket (or a list item) with the customer's phone masked, and both parties' (issue 14: the desk shows them)."""
    customer = view.customer.model_copy(update={"phone": masked_phone(view.customer.phone)})
    parties = {name: party.model_copy(update={"phone": masked_phone(party.phone)})
               for name in ("sender", "recipient") if (party := getattr(view, name)).phone}
    return view.model_copy(update={"customer": customer, **parties})


# --- the OpenAPI document --------------------------------------------------------------------------

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key of this API (pck_…, `python -m security.keys`) or an OpenID Connect "
                              "access token of the configured identity provider"},
    "receiptKey": {"type": "apiKey", "in": "query", "name": "key",
                   "description": "An SMS provider's API key (role sms_provider), in the receipt URL configured "
                                  "at the provider"},
}


def routes_of(app) -> list[tuple[str, str]]:
    """Every (method, path template) the app answers, included routers' routes among them."""
    found = []
    for route in iter_route_contexts(app.routes):
        methods = route.methods or {"GET"}  # a mount (static files) answers below its path
        for method in sorted(methods):
            if method != "HEAD" or "GET" not in methods:
                found.append((method, route.path))
    return found


def document(app: FastAPI) -> None:
    """Give every operation of the OpenAPI document its security and its 401/403 (and the gate's 404)."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    rule = RULES.get((method.upper(), path))
                    if rule is not None:
                        _secure(operation, rule)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _secure(operation: dict, rule: Rule) -> None:
    if rule.target == Target.PUBLIC:
        operation["security"] = []
        return
    operation["security"] = [{"bearer": []}] + ([{"receiptKey": []}] if rule.key_in_query else [])
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    responses = operation.setdefault("responses", {})
    responses.setdefault("401", {**body, "description": "No credential, or one that verifies to nobody (unknown, "
                                                        "revoked, expired, another audience): the reason is given"})
    roles = ", ".join(sorted(rule.roles))
    responses.setdefault("403", {**body, "description": f"The credential's roles are not this route's ({roles})"})
    if rule.target in (Target.STATION, Target.TICKET):
        responses.setdefault("404", {**body, "description": "Not found, or outside the caller's scope"})
    operation["description"] = (operation.get("description", "") + f"\n\nRoles: {roles}.").strip()
