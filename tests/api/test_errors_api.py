"""The door and the one error shape (issue 11): whatever arrives, the answer is a readable 4xx in one
JSON shape, or a JSON 500 with a correlation id that the logs and /metrics know; never a bare 500."""

from __future__ import annotations

import json
import logging
import re

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.auth import _rule
from api.messages import MAX_RECEIPTS
from api.schemas import ErrorBody
from security.access import Role
from tests.api.conftest import bearer, new_key, ticket_body

ANSWER_ROUTES = ["station-replies", "station-acks", "callbacks", "customer-contacts", "urgent-reviews",
                 "offer-answers", "sender-decisions", "penalty-decisions", "claim-decisions"]


def assert_error_shape(response) -> list[dict]:
    """The one shape: {"detail": [{"loc", "msg", "type"}], "correlation_id"} with the header's id."""
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ErrorBody.model_validate(body)
    assert set(body) == {"detail", "correlation_id"} and body["detail"]
    assert body["correlation_id"] == response.headers["x-correlation-id"]
    for item in body["detail"]:
        assert {"loc", "msg", "type"} <= set(item) and item["msg"]
    return body["detail"]


def only(response, status: int) -> dict:
    assert response.status_code == status, response.text
    [item] = assert_error_shape(response)
    return item


def raw(content: bytes) -> dict:
    return {"content": content, "headers": {"content-type": "application/json"}}


# --- JSON read strictly ------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"NaN", b"Infinity", b"-Infinity", b'{"kind": NaN}', b"1e400",
                                  b'{"description": 1e999}', b"[" + b"1" * 5000 + b"]", b"\xff\xfe{", b"{"])
async def test_what_is_not_json_is_a_422_never_a_500(http, body):
    item = only(await http.post("/v1/tickets", **raw(body)), 422)
    assert item["loc"][0] == "body" and item["type"] in {"json_invalid", "number_out_of_range"}


@pytest.mark.parametrize("path", ["/v1/sms/receipts/aliyun", "/v1/sms/receipts/tencent", "/v1/tickets"])
async def test_json_nested_a_thousand_levels_is_a_422(http, path):
    item = only(await http.post(path, **raw(b"[" * 1000 + b"]" * 1000)), 422)
    assert item["type"] == "json_too_deep"
    item = only(await http.post(path, **raw(b'{"a":' * 40 + b"1" + b"}" * 40)), 422)
    assert item["type"] == "json_too_deep"


@pytest.mark.parametrize("path, template, loc", [
    ("/v1/tickets", '{"kind": "inquiry", "description": "%s"}', ["body", "description"]),
    ("/v1/tickets", '{"customer": {"name": "%s"}}', ["body", "customer", "name"]),
    ("/v1/tickets/0123456789abcdef/callbacks", '{"outcome": "resolved", "note": "%s"}', ["body", "note"]),
    ("/v1/sms/receipts/aliyun", '[{"out_id": "%s"}]', ["body", 0, "out_id"]),
    ("/v1/shipments/status-check", '{"origin_province": "%s"}', ["body", "origin_province"]),
])
@pytest.mark.parametrize("bad, kind", [("x\\ud800y", "lone_surrogate"), ("nul \\u0000 byte", "nul_character")])
async def test_a_lone_surrogate_or_nul_in_any_string_is_a_422_that_says_where(http, path, template, loc, bad, kind):
    item = only(await http.post(path, **raw((template % bad).encode())), 422)
    assert (item["loc"], item["type"]) == (loc, kind)


async def test_a_nul_description_opens_nothing(http):
    key = new_key()
    body = json.dumps(ticket_body(description="nul \u0000 byte")).encode()
    r = await http.post("/v1/tickets", content=body, headers={"content-type": "application/json", "Idempotency-Key": key})
    assert only(r, 422)["loc"] == ["body", "description"]
    r = await http.post("/v1/tickets", json=ticket_body(description="no nul"), headers={"Idempotency-Key": key})
    assert r.status_code == 201  # the key was never used: nothing had been opened with it


async def test_a_surrogate_in_a_field_name_is_refused_and_spelt_out(http):
    item = only(await http.post("/v1/tickets", **raw(b'{"x\\ud800": 1}')), 422)
    assert item["type"] == "lone_surrogate" and item["loc"] == ["body", "x\\ud800"]


@pytest.mark.parametrize("url, loc", [("/v1/tickets?station=%00", ["query", "station"]),
                                      ("/v1/tickets/abc%00def", ["path"]),
                                      ("/v1/stations/A%00/dispatches", ["path"])])
async def test_nul_in_the_path_or_query_is_a_422(http, url, loc):
    assert only(await http.get(url), 422)["loc"] == loc


async def test_a_body_that_is_not_json_is_a_422(http):
    r = await http.post("/v1/tickets", content=b"kind=inquiry", headers={"content-type": "application/x-www-form-urlencoded"})
    assert only(r, 422)["type"] == "content_type"


# --- size -------------------------------------------------------------------------------------

async def test_a_body_over_the_cap_is_a_readable_413_declared_or_streamed(http):
    big = b'{"description": "' + b"x" * (1 << 20) + b'"}'
    item = only(await http.post("/v1/tickets", **raw(big)), 413)
    assert "1 MiB" in item["msg"] and item["type"] == "too_large"

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * (1 << 20)
    r = await http.post("/v1/sms/receipts/aliyun", content=chunks(), headers={"content-type": "application/json"})
    assert only(r, 413)["type"] == "too_large"


async def test_a_large_422_never_echoes_its_input(http):
    body = ticket_body(kind="nonsense" * 10_000, station="!" * 100, customer={"name": "n" * 5000, "phone": "1",
                                                                              "role": "sender"})
    r = await http.post("/v1/tickets", json=body)
    detail = assert_error_shape(r)
    assert r.status_code == 422 and len(r.content) < 4000
    assert all("input" not in item or len(json.dumps(item["input"])) <= 102 for item in detail)


# --- receipts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("body, loc, says", [
    (b"[null]", ["body", 0], "not null"),
    (b"[1]", ["body", 0], "not a number"),
    (b"5", ["body"], "JSON object"),
    (b'"report"', ["body"], "JSON object"),
    (b'[{"out_id": ["a"]}]', ["body"], "wrong kind"),
    (b'{"err_code": 5, "success": false}', ["body"], "wrong kind"),
])
async def test_a_receipt_push_that_is_not_one_is_a_readable_422(http, body, loc, says):
    item = only(await http.post("/v1/sms/receipts/aliyun", **raw(body)), 422)
    assert item["loc"] == loc and says in item["msg"] and "NoneType" not in item["msg"]


async def test_a_receipt_push_of_more_reports_than_a_provider_sends_is_refused(http):
    body = json.dumps([{"sid": "x"}] * (MAX_RECEIPTS + 1)).encode()
    assert "at most" in only(await http.post("/v1/sms/receipts/tencent", **raw(body)), 422)["msg"]


async def test_a_real_receipt_push_is_acknowledged(http):
    r = await http.post("/v1/sms/receipts/tencent", json=[{"sid": "no-such", "report_status": "SUCCESS"}])
    assert r.status_code == 200 and r.json() == {"result": 0, "errmsg": "OK"}


# --- the one shape, every status ----------------------------------------------------------------

async def test_every_error_status_has_the_one_shape(http):
    opened = (await http.post("/v1/tickets", json=ticket_body(), headers={"Idempotency-Key": new_key()})).json()
    cases = [
        (await http.get("/v1/nowhere"), 404),
        (await http.get("/v1/tickets/0123456789abcdef"), 404),
        (await http.get("/v1/claims/0123456789abcdef"), 404),
        (await http.request("DELETE", "/v1/tickets"), 405),
        (await http.post(f"/v1/tickets/{opened['ticket_id']}/station-replies",
                         json={"station": "OTHER-1", "finding": "x"}), 409),
        (await http.post("/v1/tickets", json={}), 422),
        (await http.post("/v1/tickets", json=ticket_body(waybill="12345")), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert_error_shape(response)
    assert "ticket 0123456789abcdef" in cases[1][0].json()["detail"][0]["msg"]
    assert f"ticket {opened['ticket_id']}" in cases[4][0].json()["detail"][0]["msg"]


async def test_a_made_up_method_is_a_405_listing_every_method_of_the_path(http):
    r = await http.request("PURGE", "/v1/tickets/0123456789abcdef")
    assert only(r, 405)["type"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == {"GET", "PATCH"}


async def test_a_client_correlation_id_is_kept_a_made_up_one_replaced(http):
    r = await http.get("/v1/tickets/0123456789abcdef", headers={"X-Correlation-ID": "crm-call-4711"})
    assert r.json()["correlation_id"] == r.headers["x-correlation-id"] == "crm-call-4711"
    r = await http.get("/v1/tickets/0123456789abcdef", headers={"X-Correlation-ID": "x\r\n; <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", r.json()["correlation_id"])


# --- unexpected errors: JSON 500, logged by correlation id, counted ------------------------------------

@pytest.fixture
async def failing(stack, root_key):
    """The app with one route of this test's own that fails as a bug would (its text quotes personal data)."""
    app = create_app(stack)
    app.state.access_rules[("GET", "/v1/bug")] = _rule(Role.OPS)

    @app.get("/v1/bug")
    async def bug() -> dict:
        name, phone = "张三", "+8613812345678"
        raise ValueError(f"customer {name} {phone}")

    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test",
        headers=bearer(root_key),
    ) as client:
        yield client


async def test_an_unexpected_error_is_a_json_500_logged_and_counted_by_correlation_id(failing, caplog):
    before = _metric(await failing.get("/metrics"), 'parcelcare_http_unhandled_errors_total{method="GET",route="/v1/bug"}')
    with caplog.at_level(logging.ERROR, logger="parcelcare.api"):
        r = await failing.get("/v1/bug")
    item = only(r, 500)
    cid = r.json()["correlation_id"]
    assert item["type"] == "internal_error" and cid in item["msg"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert cid in logged and "ValueError" in logged and "/v1/bug" in logged
    assert "13812345678" not in logged and "张三" not in logged  # the exception's text is never logged
    after = await failing.get("/metrics")
    assert _metric(after, 'parcelcare_http_unhandled_errors_total{method="GET",route="/v1/bug"}') == before + 1
    assert _metric(after, 'parcelcare_http_errors_total{method="GET",route="/v1/bug"}') >= 1


async def test_made_up_methods_add_no_label_values(http):
    for method in ("FOO", "BAR", "X-ANYTHING"):
        await http.request(method, "/v1/tickets")
    text = (await http.get("/metrics")).text
    assert 'method="OTHER"' in text
    assert not any(f'method="{m}"' in text for m in ("FOO", "BAR", "X-ANYTHING"))


def _metric(response, series: str) -> float:
    for line in response.text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --- properties: whatever arrives, no 5xx and the one shape ------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=12,
)
BODY_ROUTES = ["/v1/tickets", "/v1/shipments/status-check", "/v1/sms/receipts/aliyun", "/v1/sms/receipts/tencent",
               *[f"/v1/tickets/0123456789abcdef/{route}" for route in ANSWER_ROUTES]]


@settings(max_examples=150)
@given(path=st.sampled_from(BODY_ROUTES), body=json_values)
def test_property_any_json_body_is_answered_without_a_5xx(served_api, path, body):
    r = httpx.post(served_api.url + path, json=body, headers=served_api.auth, timeout=30)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert_error_shape(r)


ticket_fields = st.fixed_dictionaries({}, optional={
    "waybill": st.text(max_size=20), "description": st.text(max_size=30), "station_province": st.text(max_size=10),
    "customer": st.fixed_dictionaries({"name": st.text(max_size=12), "phone": st.text(max_size=16),
                                       "role": st.sampled_from(["sender", "recipient"])}),
    "shipment": st.fixed_dictionaries({}, optional={"ship_date": st.dates().map(str), "origin_province": st.text(max_size=8)}),
})


@settings(max_examples=100)
@given(fields=ticket_fields)
def test_property_r_wb_1_r_rec_1_any_text_in_an_open_is_taken_or_refused_with_its_reasons(served_api, fields):
    r = httpx.post(served_api.url + "/v1/tickets", json=ticket_body(**fields), headers=served_api.auth, timeout=30)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422:
        assert all(item["loc"][0] == "body" for item in assert_error_shape(r))


@settings(max_examples=100)
@given(query=st.dictionaries(st.sampled_from(["status", "kind", "station", "opened_from", "opened_to", "urgent",
                                              "limit", "offset", "waybill"]), st.text(max_size=30), max_size=4))
def test_property_any_query_on_the_ticket_list_is_answered_without_a_5xx(served_api, query):
    r = httpx.get(served_api.url + "/v1/tickets", params=query, headers=served_api.auth, timeout=30)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert_error_shape(r)


async def test_metrics_count_under_route_templates_refused_at_the_door_or_not(http):
    await http.get("/v1/tickets/0123456789abcdef")
    await http.get("/v1/tickets?station=%00")
    text = (await http.get("/metrics")).text
    assert 'route="/v1/tickets/{ticket_id}",status="404"' in text
    assert 'route="/v1/tickets",status="422"' in text
    assert "0123456789abcdef" not in text


async def test_an_unknown_field_with_a_huge_name_is_named_cut_short(http):
    r = await http.post("/v1/tickets", json=ticket_body(**{"k" * 100_000: 1}))
    [item] = assert_error_shape(r)
    assert item["type"] == "extra_forbidden" and len(r.content) < 3000 and item["loc"][1].endswith("…")
