"""Who may do what (issue 12), through the real app: the gate, API keys in the record, OIDC tokens
verified against a JWKS served over HTTP (tests/identity.py), the workflow behind.

The matrix is generated from the app's own routes: every route, every role, and every way to be
refused (no credential, an expired token, a token for another audience, a revoked key, another
station's key and head, another carrier's client) gets exactly the status the rule table says. A
route with no rule, no sample request or no value for a path parameter fails it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from api.auth import RULES, routes_of, rules_table
from domain.kinds import Kind
from domain.liability import Acceptance, LiabilityDetail, Link, Ruling, RulingOpening, Unit
from security.access import EVERY, Role, ScopeKind, Target, scope_kind
from security.keys import KeyStore
from settings import load_policy
from store.audit import PiiReadStore
from store.db import create_engine_for
from store.quality import QualityStore
from tests.api.conftest import bearer, new_key, ticket_body
from tests.conftest import ROOT

OUR_CARRIER, OUR_STATION, OUR_PROVIDER = "best", "SH-PD-01", "aliyun"


@pytest.fixture(scope="session")
async def keys(stack):
    engine = create_engine_for(stack.database_url)
    yield KeyStore(engine)
    await engine.dispose()


async def _key(keys: KeyStore, name: str, *roles: Role, carriers=(), stations=(), providers=()) -> str:
    _, key = await keys.create(f"{name}-{new_key()[:6]}", roles, carriers, stations, providers, by="tests")
    return key


@dataclass(frozen=True)
class Caller:
    name: str
    credential: str | None
    roles: frozenset[Role] = frozenset()
    carriers: frozenset[str] = frozenset()
    stations: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    valid: bool = True  # False: the credential verifies to nobody

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.credential) if self.credential else {}


@pytest.fixture(scope="session")
async def callers(keys, issuer) -> dict[str, Caller]:
    """One caller per role, systems with API keys and people with tokens, and the ones to be refused."""
    R = Role
    found = [
        Caller("client", await _key(keys, "crm", R.CLIENT, carriers=[OUR_CARRIER]), frozenset({R.CLIENT}),
               carriers=frozenset({OUR_CARRIER})),
        Caller("station", await _key(keys, "station", R.STATION, stations=[OUR_STATION]), frozenset({R.STATION}),
               stations=frozenset({OUR_STATION})),
        Caller("sms_provider", await _key(keys, "aliyun", R.SMS_PROVIDER, providers=[OUR_PROVIDER]),
               frozenset({R.SMS_PROVIDER}), providers=frozenset({OUR_PROVIDER})),
        Caller("metrics", await _key(keys, "prometheus", R.METRICS), frozenset({R.METRICS})),
        Caller("agent", issuer.token("agent-1", roles=["agent"]), frozenset({R.AGENT})),
        Caller("urgent_group", issuer.token("urgent-1", roles=["urgent_group"]), frozenset({R.URGENT_GROUP})),
        Caller("station_head", issuer.token("head-1", roles=["station_head"], stations=[OUR_STATION]),
               frozenset({R.STATION_HEAD}), stations=frozenset({OUR_STATION})),
        Caller("claims", issuer.token("claims-1", roles=["claims"]), frozenset({R.CLAIMS})),
        Caller("ops", issuer.token("ops-1", roles=["ops"]), frozenset({R.OPS})),
        Caller("admin", issuer.token("admin-1", roles=["admin"]), frozenset({R.ADMIN})),
        Caller("arbitration", issuer.token("hq-arbiter-1", roles=["arbitration"]), frozenset({R.ARBITRATION})),
        # Refused:
        Caller("no credential", None, valid=False),
        Caller("expired token", issuer.token("ops-2", roles=["ops"], expires_in=-120), valid=False),
        Caller("wrong audience", issuer.token("ops-3", roles=["ops"], audience="another-api"), valid=False),
        Caller("another station's key", await _key(keys, "station-2", R.STATION, stations=["SH-PD-02"]),
               frozenset({R.STATION}), stations=frozenset({"SH-PD-02"})),
        Caller("another station's head", issuer.token("head-2", roles=["station_head"], stations=["SH-PD-02"]),
               frozenset({R.STATION_HEAD}), stations=frozenset({"SH-PD-02"})),
        Caller("another carrier's client", await _key(keys, "crm-sto", R.CLIENT, carriers=["sto"]),
               frozenset({R.CLIENT}), carriers=frozenset({"sto"})),
        Caller("another provider's key", await _key(keys, "tencent", R.SMS_PROVIDER, providers=["tencent"]),
               frozenset({R.SMS_PROVIDER}), providers=frozenset({"tencent"})),
    ]
    revoked = await _key(keys, "crm-revoked", R.CLIENT, carriers=[OUR_CARRIER])
    await keys.revoke(revoked.split("_")[1], by="tests")
    found.append(Caller("revoked key", revoked, valid=False))
    return {c.name: c for c in found}


async def until(http, ticket_id: str, predicate, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        view = (await http.get(f"/v1/tickets/{ticket_id}")).json()
        if predicate(view) or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
async def closed_ticket(app, root_key) -> str:
    """A ticket of our carrier at our station that is already closed: every answer to it is a 409, after
    every check of who may send it, so the matrix changes nothing as it goes."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers=bearer(root_key)) as http:
        body = ticket_body(kind="consult", consult_answer="answered at once", station=OUR_STATION)
        tid = (await http.post("/v1/tickets", json=body, headers={"Idempotency-Key": new_key()})).json()["ticket_id"]
        assert (await until(http, tid, lambda v: v["status"] == "closed"))["status"] == "closed"
    # Its liability ruling (issue 15), accepted already: a consult has none of its own (no responsible unit).
    engine = create_engine_for(app.state.settings.database_url)
    ruling = Ruling.issued(RulingOpening(ticket_id=tid, carrier=OUR_CARRIER, kind=Kind.CONSULT,
                                         unit=Unit(station=OUR_STATION), closed_at=datetime.now(UTC),
                                         policy=load_policy(app.state.settings.policy)), datetime.now(UTC))
    ruling.accept(Acceptance(detail=LiabilityDetail(city="上海市", link=Link.DELIVERY, unit="张江投递部")),
                  datetime.now(UTC))
    ruling.seq = 1
    await QualityStore(engine).record_ruling(ruling, "accepted", "", "tests", datetime.now(UTC))
    await engine.dispose()
    return tid


# --- the matrix ----------------------------------------------------------------------------------

# A value for each path parameter a route may have.
PATH_VALUES = {"station": OUR_STATION, "provider": OUR_PROVIDER, "key_id": "0123456789ab", "role": "hq_cs",
               "scope": "hq", "phone": "13800000000", "key": "no-such-message", "report_id": "weekly-2026-W47"}
_DETAIL = {"city": "上海市", "link": "delivery", "unit": "张江投递部"}
# A valid request for each route that takes a body or a header; the same request for every caller.
SAMPLES: dict[tuple[str, str], dict] = {
    ("POST", "/v1/tickets"): {"json": ticket_body(kind="consult", consult_answer="answered", station=OUR_STATION),
                              "headers": {"Idempotency-Key": "authorization-matrix"}},
    ("PATCH", "/v1/tickets/{ticket_id}"): {"json": {"description": "amended"}},
    ("POST", "/v1/tickets/{ticket_id}/station-replies"): {"json": {"station": OUR_STATION, "finding": "here"}},
    ("POST", "/v1/tickets/{ticket_id}/station-acks"): {"json": {"station": OUR_STATION}},
    ("POST", "/v1/tickets/{ticket_id}/callbacks"): {"json": {"outcome": "resolved"}},
    ("POST", "/v1/tickets/{ticket_id}/customer-contacts"): {"json": {"note": "called in"}},
    ("POST", "/v1/tickets/{ticket_id}/urgent-reviews"): {"json": {"approved": True}},
    ("POST", "/v1/tickets/{ticket_id}/offer-answers"): {"json": {"accepted": True}},
    ("POST", "/v1/tickets/{ticket_id}/sender-decisions"): {"json": {"agreed": True}},
    ("POST", "/v1/tickets/{ticket_id}/penalty-decisions"): {"json": {"penalised": False, "decision": "warned"}},
    ("POST", "/v1/tickets/{ticket_id}/claim-decisions"): {"json": {"outcome": "paid", "amount": "10.00"}},
    ("POST", "/v1/tickets/{ticket_id}/hand-over"): {"json": {"to": "user:agent-7"}},
    ("POST", "/v1/tickets/{ticket_id}/notes"): {"json": {"text": "call after 18:00"}},
    ("POST", "/v1/shipments/status-check"): {"json": {"signed": False}},
    ("PUT", "/v1/directory/{role}/{scope}"): {"json": {"name": "钱七", "phone": "010 6512 3456"}},
    ("POST", "/v1/sms/receipts/{provider}"): {"json": []},
    ("POST", "/v1/keys"): {"json": {"name": "matrix-made", "roles": ["metrics"]}},
    # Issue 15: the closed ticket's ruling is already accepted, so every answer is a 409 after the checks.
    ("POST", "/v1/rulings/{ticket_id}/acceptance"): {"json": {"detail": _DETAIL}},
    ("POST", "/v1/rulings/{ticket_id}/appeal"): {"json": {"reasons": "delivered", "evidence": ["pod.jpg"]}},
    ("POST", "/v1/rulings/{ticket_id}/arbitration"): {"json": {"liable": True, "detail": _DETAIL}},
    ("GET", "/v1/quality/indicators"): {"params": {"period": "2026-11"}},
    ("GET", "/v1/quality/scorecard"): {"params": {"period": "2026-11"}},
    ("GET", "/v1/quality/scorecard-inputs"): {"params": {"period": "2026-11"}},
    ("POST", "/v1/quality/scorecard-inputs"): {
        "json": {"csv": "period,station,component,numerator,denominator\n2026-11,SH-PD-01,perfect_pod,9,10\n"}},
}


def _request(method: str, path: str, ticket_id: str) -> dict:
    values = {**PATH_VALUES, "ticket_id": ticket_id}
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    missing = [n for n in names if n not in values]
    assert not missing, f"{method} {path}: no value for {missing}: add one to PATH_VALUES"
    return {"method": method, "url": path.format(**values), **SAMPLES.get((method, path), {})}


def _sees(caller: Caller, role: Role, carrier: str | None = None, station: str | None = None,
          provider: str | None = None) -> bool:
    """The oracle for one role's scope, written from the issue, not from the code under test."""
    kind = scope_kind(role)
    if kind == ScopeKind.EVERYTHING:
        return True
    held = {ScopeKind.CARRIERS: caller.carriers, ScopeKind.STATIONS: caller.stations,
            ScopeKind.PROVIDERS: caller.providers}[kind]
    wanted = {ScopeKind.CARRIERS: carrier, ScopeKind.STATIONS: station, ScopeKind.PROVIDERS: provider}[kind]
    return EVERY in held or wanted in held


def expected(rule, caller: Caller, reference: int) -> int:
    if rule.target == Target.PUBLIC:
        return reference
    if not caller.valid:
        return 401
    granted = caller.roles & rule.roles
    if not granted:
        return 403
    if rule.target == Target.TICKET:
        return reference if any(_sees(caller, r, carrier=OUR_CARRIER, station=OUR_STATION) for r in granted) else 404
    if rule.target == Target.STATION:
        return reference if any(_sees(caller, r, station=OUR_STATION) for r in granted) else 404
    if rule.target == Target.CARRIER:
        return reference if any(_sees(caller, r, carrier=OUR_CARRIER) for r in granted) else 403
    if rule.target == Target.PROVIDER:
        return reference if any(_sees(caller, r, provider=OUR_PROVIDER) for r in granted) else 403
    return reference


async def test_the_authorization_matrix_of_every_route_and_every_role(app, root_key, callers, closed_ticket):
    routes = routes_of(app)
    unruled = [r for r in routes if r not in RULES]
    assert not unruled, f"routes without an access rule in api/auth.py RULES: {unruled}"
    assert not set(RULES) - set(routes), "rules for routes that do not exist"
    wrong: list[str] = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://test") as http:
        for method, path in routes:
            rule = RULES[(method, path)]
            request = _request(method, path, closed_ticket)
            extra = request.pop("headers", {})
            await http.request(**request, headers={**extra, **bearer(root_key)})  # first of a kind: 201, not 200
            reference = (await http.request(**request, headers={**extra, **bearer(root_key)})).status_code
            if rule.target != Target.PUBLIC:  # the sample must get past every check of who calls
                assert reference not in (401, 403), (method, path, reference)
                if rule.target in (Target.TICKET, Target.STATION):
                    assert reference not in (404, 422), f"{method} {path}: the sample gets {reference}"
            for caller in callers.values():
                got = (await http.request(**request, headers={**extra, **caller.headers})).status_code
                want = expected(rule, caller, reference)
                if got != want:
                    wrong.append(f"{method} {path} as {caller.name}: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)


async def test_a_route_without_a_rule_is_refused_to_everyone(stack, root_key):
    """Fail closed: a route someone adds without a row in RULES answers no one, and says why."""
    from api.app import create_app

    app = create_app(stack)

    @app.get("/v1/unruled")
    async def unruled() -> dict:
        return {"secret": "data"}

    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", headers=bearer(root_key)) as http:
        r = await http.get("/v1/unruled")
    assert r.status_code == 403 and "no access rule" in r.json()["detail"][0]["msg"] and "secret" not in r.text
    assert ("GET", "/v1/unruled") in routes_of(app) and ("GET", "/v1/unruled") not in RULES


def test_the_readme_shows_the_rule_table_as_it_is():
    assert rules_table() in (ROOT / "README.md").read_text(encoding="utf-8")


# --- 401: readable, in the one shape ----------------------------------------------------------------

async def test_unauthenticated_calls_get_a_readable_401_in_the_one_error_shape(anonymous, callers, issuer):
    cases = {
        "none": ({}, "needs a credential"),
        "garbage": ({"Authorization": "Bearer not-a-token"}, "neither an API key of this API nor a JWT"),
        "basic": ({"Authorization": "Basic dXNlcjpwYXNz"}, "needs a credential"),
        "unknown key": (bearer("pck_0123456789ab_" + "A" * 43), "not one of this API's keys"),
        "revoked": (callers["revoked key"].headers, "was revoked"),
        "expired": (callers["expired token"].headers, "expired"),
        "audience": (callers["wrong audience"].headers, "not for this API"),
        "other issuer": (bearer(issuer.token("x", roles=["ops"], issuer="https://elsewhere.example")),
                         "not issued by"),
        "other key": (bearer(issuer.token("x", roles=["ops"], key=_another_rsa_key())),
                      "signature"),
    }
    for name, (headers, says) in cases.items():
        r = await anonymous.get("/v1/tickets", headers=headers)
        assert r.status_code == 401, (name, r.text)
        body = r.json()
        assert set(body) == {"detail", "correlation_id"} and body["correlation_id"] == r.headers["x-correlation-id"]
        [item] = body["detail"]
        assert item["type"] == "unauthenticated" and item["loc"] == ["header", "Authorization"], name
        assert says in item["msg"], (name, item["msg"])
        assert r.headers["www-authenticate"].startswith('Bearer realm="parcelcare"')
    # Health, readiness and the API's own documentation stay open.
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert (await anonymous.get(path)).status_code == 200, path


def _another_rsa_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


async def test_a_token_naming_a_key_the_issuer_does_not_publish_is_refused(anonymous, issuer):
    token = issuer.token("x", roles=["ops"], key=_another_rsa_key(), kid="rotated-away")
    r = await anonymous.get("/v1/tickets", headers=bearer(token))
    assert r.status_code == 401 and "does not publish" in r.json()["detail"][0]["msg"]


async def test_a_token_without_a_role_of_ours_is_a_403_naming_the_roles(anonymous, issuer):
    token = issuer.token("someone", roles=["parcelcare-viewer", "offline_access"])
    r = await anonymous.get("/v1/directory", headers=bearer(token))
    assert r.status_code == 403
    msg = r.json()["detail"][0]["msg"]
    assert "ops" in msg and "user:someone" in msg and "no role" in msg


# --- stations: their own codes only --------------------------------------------------------------

async def _open(http, station: str, **overrides) -> str:
    r = await http.post("/v1/tickets", json=ticket_body(station=station, **overrides),
                        headers={"Idempotency-Key": new_key()})
    assert r.status_code == 201, r.text
    return r.json()["ticket_id"]


async def test_a_stations_key_answers_and_reads_only_its_own_stations_dispatches(http, anonymous, keys):
    mine, theirs = "AUTH-ST-MINE", "AUTH-ST-THEIRS"
    own = bearer(await _key(keys, "st-mine", Role.STATION, stations=[mine]))
    other = bearer(await _key(keys, "st-theirs", Role.STATION, stations=[theirs]))
    tid = await _open(http, mine)
    await until(http, tid, lambda v: v["status"] == "awaiting_station")

    # Another station can neither read this station's outbox nor answer its dispatch: 404, as for nothing.
    assert (await anonymous.get(f"/v1/stations/{mine}/dispatches", headers=other)).status_code == 404
    for route, body in [("station-acks", {"station": theirs}), ("station-replies", {"station": theirs, "finding": "x"}),
                        ("station-acks", {"station": mine}), ("station-replies", {"station": mine, "finding": "x"})]:
        r = await anonymous.post(f"/v1/tickets/{tid}/{route}", json=body, headers=other)
        assert r.status_code == 404 and r.json()["detail"][0]["msg"] == f"no ticket {tid}", (route, body)
    assert (await anonymous.get(f"/v1/tickets/{tid}", headers=other)).status_code == 403  # stations read no tickets

    # Its own station reads the dispatch and answers it; the steps name the key, not the body.
    outbox = (await anonymous.get(f"/v1/stations/{mine}/dispatches", headers=own)).json()
    assert [d["ticket_id"] for d in outbox["items"]] == [tid]
    assert (await anonymous.get(f"/v1/stations/{theirs}/dispatches", headers=own)).status_code == 404
    r = await anonymous.post(f"/v1/tickets/{tid}/station-replies", json={"station": mine, "finding": "on the van"},
                             headers=own)
    assert r.status_code == 202, r.text
    view = await until(http, tid, lambda v: v["status"] == "awaiting_callback")
    [replied] = [s for s in view["steps"] if s["action"] == "station_replied"]
    assert replied["data"]["actor"].startswith("key:st-mine-")


async def test_a_station_head_decides_penalties_only_for_its_station(http, anonymous, issuer):
    station = "AUTH-ST-HEAD"
    tid = await _open(http, station, kind="service", waybill=None, service_target="courier")
    await until(http, tid, lambda v: v["status"] == "awaiting_callback")
    await http.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "disputed", "note": "not accepted"})
    await until(http, tid, lambda v: v["status"] == "awaiting_penalty")
    decision = {"penalised": True, "decision": "fined 50 yuan"}
    elsewhere = bearer(issuer.token("head-elsewhere", roles=["station_head"], stations=["SH-PD-99"]))
    refused = await anonymous.post(f"/v1/tickets/{tid}/penalty-decisions", json=decision, headers=elsewhere)
    assert refused.status_code == 404
    own = bearer(issuer.token("head-own", roles=["station_head"], stations=[station]))
    assert (await anonymous.post(f"/v1/tickets/{tid}/penalty-decisions", json=decision, headers=own)).status_code == 202
    view = await until(http, tid, lambda v: any(s["action"] == "penalty_decided" for s in v["steps"]))
    [decided] = [s for s in view["steps"] if s["action"] == "penalty_decided"]
    assert decided["data"]["actor"] == "user:head-own"


# --- clients: their own carriers only -----------------------------------------------------------------

async def test_a_client_of_another_carrier_gets_404_for_our_tickets_and_never_sees_them_listed(
        http, anonymous, keys):
    station = "AUTH-CARRIER"
    tid = await _open(http, station)
    ours = bearer(await _key(keys, "crm-best", Role.CLIENT, carriers=[OUR_CARRIER]))
    theirs = bearer(await _key(keys, "crm-zto", Role.CLIENT, carriers=["zto"]))
    for method, path, body in [("GET", f"/v1/tickets/{tid}", None), ("GET", f"/v1/tickets/{tid}/messages", None),
                               ("PATCH", f"/v1/tickets/{tid}", {"description": "changed by another carrier"})]:
        r = await anonymous.request(method, path, json=body, headers=theirs)
        assert r.status_code == 404 and r.json()["detail"][0]["msg"] == f"no ticket {tid}", (method, path)
        unknown = await anonymous.request(method, path.replace(tid, "ffffffffffffffff"), json=body, headers=theirs)
        assert unknown.status_code == 404  # exactly as a ticket that does not exist
    assert (await anonymous.get(f"/v1/tickets/{tid}", headers=ours)).status_code == 200
    listed = (await anonymous.get("/v1/tickets", params={"station": station}, headers=theirs)).json()
    assert listed["total"] == 0 and listed["items"] == []
    assert (await anonymous.get("/v1/tickets", params={"station": station}, headers=ours)).json()["total"] == 1
    refused = await anonymous.post("/v1/tickets", json=ticket_body(station=station), headers=theirs)
    assert refused.status_code == 403 and refused.json()["detail"][0]["loc"] == ["body", "carrier"]
    # Its description was never changed by the other carrier's PATCH.
    assert (await http.get(f"/v1/tickets/{tid}")).json()["description"] == ticket_body()["description"]


# --- the actor comes from the credential -------------------------------------------------------------

ANSWERS = {
    "callbacks": {"outcome": "resolved"}, "customer-contacts": {}, "urgent-reviews": {"approved": True},
    "offer-answers": {"accepted": True}, "sender-decisions": {"agreed": True},
    "penalty-decisions": {"penalised": False, "decision": "no fault"},
    "claim-decisions": {"outcome": "paid", "amount": "1.00"},
    "station-replies": {"station": OUR_STATION, "finding": "x"}, "station-acks": {"station": OUR_STATION},
}


@pytest.mark.parametrize("route", sorted(ANSWERS))
@pytest.mark.parametrize("field", ["actor", "agent", "reviewer", "decided_by"])
async def test_a_body_cannot_name_who_sends_it(http, closed_ticket, route, field):
    r = await http.post(f"/v1/tickets/{closed_ticket}/{route}", json={**ANSWERS[route], field: "someone-else"})
    assert r.status_code == 422
    [item] = r.json()["detail"]
    assert item["loc"] == ["body", field] and item["type"] in ("from_credential", "extra_forbidden")


async def test_the_schema_offers_no_field_for_who_sends(http):
    schemas = (await http.get("/openapi.json")).json()["components"]["schemas"]
    for name, schema in schemas.items():
        if name.endswith("In") or name == "TicketPatch":
            assert not {"actor", "agent", "reviewer", "decided_by"} & set(schema.get("properties", {})), name


async def test_every_step_names_its_actor_from_the_credential(http, anonymous, keys, issuer):
    """Open with the CRM's key, amend with it, review as the urgent group, answer as the station and
    the agent: each step says who, the workflow's own steps say system."""
    crm = bearer(await _key(keys, "crm-actor", Role.CLIENT, carriers=[OUR_CARRIER]))
    station = "AUTH-ACTOR"
    body = ticket_body(station=station, shipment={"contents": "passport"})  # urgent (R-URG-1): reviewed first
    r = await anonymous.post("/v1/tickets", json=body, headers={**crm, "Idempotency-Key": new_key()})
    assert r.status_code == 201, r.text
    tid = r.json()["ticket_id"]
    await until(http, tid, lambda v: v["status"] == "awaiting_review")
    assert (await anonymous.patch(f"/v1/tickets/{tid}", json={"description": "passport inside"},
                                  headers=crm)).status_code == 200
    review = bearer(issuer.token("urgent-ann", roles=["urgent_group"]))
    assert (await anonymous.post(f"/v1/tickets/{tid}/urgent-reviews", json={"approved": True},
                                 headers=review)).status_code == 202
    await until(http, tid, lambda v: v["status"] == "awaiting_station")
    st = bearer(await _key(keys, "st-actor", Role.STATION, stations=[station]))
    await anonymous.post(f"/v1/tickets/{tid}/station-replies", json={"station": station, "finding": "here"}, headers=st)
    await until(http, tid, lambda v: v["status"] == "awaiting_callback")
    agent = bearer(issuer.token("agent-bob", roles=["agent"]))
    await anonymous.post(f"/v1/tickets/{tid}/callbacks", json={"outcome": "resolved"}, headers=agent)
    view = await until(http, tid, lambda v: v["status"] == "closed")
    actors = {s["action"]: s["data"].get("actor") for s in view["steps"]}
    assert actors["opened"].startswith("key:crm-actor-") and actors["amended"].startswith("key:crm-actor-")
    assert actors["reviewed"] == "user:urgent-ann"
    assert actors["station_replied"].startswith("key:st-actor-")
    assert actors["closed"] == "user:agent-bob"
    assert actors["dispatched"] == "system"
    assert all(s["data"].get("actor") for s in view["steps"]), [s for s in view["steps"] if "actor" not in s["data"]]


# --- personal data: masked in lists, full for agents, each read recorded ------------------------------

async def test_phones_are_masked_in_lists_and_full_only_for_agents_with_each_read_recorded(
        http, anonymous, stack, issuer, keys):
    station = "AUTH-PII"
    tid = await _open(http, station)
    await until(http, tid, lambda v: v["status"] == "awaiting_station")  # lists read the record, written by the worker
    listed = (await http.get("/v1/tickets", params={"station": station, "limit": 500})).json()
    assert listed["items"][0]["customer"]["phone"] == "+86138****5678"  # even for a key holding every role
    audit = PiiReadStore(keys.engine)
    before = len(await audit.reads(tid))

    for name, headers in [("ops", bearer(issuer.token("ops-pii", roles=["ops"]))),
                          ("client", bearer(await _key(keys, "crm-pii", Role.CLIENT, carriers=[OUR_CARRIER]))),
                          ("claims", bearer(issuer.token("claims-pii", roles=["claims"])))]:
        view = (await anonymous.get(f"/v1/tickets/{tid}", headers=headers)).json()
        assert view["customer"]["phone"] == "+86138****5678", name
    assert len(await audit.reads(tid)) == before  # masked reads are not phone reads

    agent = bearer(issuer.token("agent-pii", roles=["agent"]))
    r = await anonymous.get(f"/v1/tickets/{tid}", headers={**agent, "X-Correlation-ID": "call-center-0042"})
    assert r.json()["customer"]["phone"] == "+8613812345678"
    [read] = (await audit.reads(tid))[before:]
    assert (read.actor, read.field, read.route, read.correlation_id) == (
        "user:agent-pii", "customer.phone", "GET /v1/tickets/{ticket_id}", "call-center-0042")
    assert "13812345678" not in read.model_dump_json()


# --- SMS receipts: only the provider's key ------------------------------------------------------------

async def test_a_forged_receipt_is_refused_and_changes_nothing(app, anonymous, keys, callers):
    from datetime import UTC, datetime

    from activities.adapters.sms import SmsState
    from store.messages import MessageRecord

    messages = app.state.messages
    now = datetime.now(UTC)
    record = MessageRecord(key=f"auth:{new_key()}", ticket_id="t-receipt", purpose="test", role="hq_cs",
                           phone="+8613900000003", template="escalation", params={}, text="…", driver="aliyun",
                           state=SmsState.SENT, provider_id=f"biz-{new_key()[:8]}", error=None, attempts=1,
                           requested_at=now, updated_at=now)
    await messages.reserve(record)
    push = [{"out_id": record.key, "biz_id": record.provider_id, "success": False, "err_code": "FORGED"}]
    aliyun_key = callers["sms_provider"].credential
    tencent_key, revoked_key = callers["another provider's key"].credential, callers["revoked key"].credential
    forged = {
        "no key": ("/v1/sms/receipts/aliyun", {}),
        "made-up key": ("/v1/sms/receipts/aliyun?key=pck_0123456789ab_" + "B" * 43, {}),
        "Tencent's key": (f"/v1/sms/receipts/aliyun?key={tencent_key}", {}),
        "a revoked key": (f"/v1/sms/receipts/aliyun?key={revoked_key}", {}),
        "an ops token": ("/v1/sms/receipts/aliyun", callers["ops"].headers),
    }
    for name, (url, headers) in forged.items():
        r = await anonymous.post(url, json=push, headers=headers)
        assert r.status_code in (401, 403), (name, r.text)
        [stored] = await messages.for_ticket("t-receipt")
        assert stored.state == SmsState.SENT and stored.error is None, name
    ok = await anonymous.post(f"/v1/sms/receipts/aliyun?key={aliyun_key}",
                              json=[{**push[0], "success": True, "err_code": "DELIVERED"}])
    assert ok.status_code == 200 and ok.json()["code"] == 0
    [stored] = await messages.for_ticket("t-receipt")
    assert stored.state == SmsState.DELIVERED
    assert aliyun_key not in ok.text


# --- API keys: made, listed, revoked by an admin ---------------------------------------------------------

async def test_an_admin_makes_a_key_that_is_shown_once_and_revokes_it(anonymous, issuer):
    admin = bearer(issuer.token("admin-ann", roles=["admin"]))
    made = await anonymous.post("/v1/keys", json={"name": f"crm-{new_key()[:6]}", "roles": ["client"],
                                                  "carriers": ["best"]}, headers=admin)
    assert made.status_code == 201, made.text
    key, key_id = made.json()["key"], made.json()["key_id"]
    assert made.json()["created_by"] == "user:admin-ann"
    listed = (await anonymous.get("/v1/keys", headers=admin)).text
    assert key_id in listed and key not in listed and key.split("_", 2)[2] not in listed and "hash" not in listed
    assert (await anonymous.get("/v1/tickets", headers=bearer(key))).status_code == 200
    assert (await anonymous.delete(f"/v1/keys/{key_id}", headers=admin)).json()["revoked_by"] == "user:admin-ann"
    r = await anonymous.get("/v1/tickets", headers=bearer(key))
    assert r.status_code == 401 and "revoked" in r.json()["detail"][0]["msg"]
    assert (await anonymous.delete("/v1/keys/ffffffffffff", headers=admin)).status_code == 404
    scoped_without_scope = await anonymous.post("/v1/keys", json={"name": "nowhere", "roles": ["station"]},
                                                headers=admin)
    assert scoped_without_scope.status_code == 422 and "--station" in scoped_without_scope.text


# --- the OpenAPI document says it ---------------------------------------------------------------------

async def test_the_document_names_the_security_of_every_operation(http):
    doc = (await http.get("/openapi.json")).json()
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "receiptKey"}
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            rule = RULES[(method.upper(), path)]
            if rule.target == Target.PUBLIC:
                assert operation["security"] == [], path
            else:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
                assert {"bearer": []} in operation["security"], (method, path)
    assert doc["paths"]["/v1/sms/receipts/{provider}"]["post"]["security"][1] == {"receiptKey": []}
