"""Schemathesis hooks for tests/api/test_contract.py (loaded by its CLI through SCHEMATHESIS_HOOKS).

In the stateful phase, a generated open request is made openable: what no schema can say (R-WB-1's
format for the policy's carrier, a real mainland phone and a name, a ship date within the year, the
facts the kind needs) is set right, so tickets open and the links from them (read, amend, answer)
are followed. The other phases send what they generate, as generated.
"""

from __future__ import annotations

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    if (case.operation.label == "POST /v1/tickets" and isinstance(case.body, dict) and case.meta is not None
            and case.meta.phase.name == "stateful" and case.meta.generation.mode.is_positive):
        case.body = openable(case.body)


def openable(body: dict) -> dict:
    kind = body.get("kind", "inquiry")
    customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
    shipment = {k: v for k, v in (body.get("shipment") or {}).items() if k not in ("ship_date", "signed", "signing")}
    if kind in ("damage", "shortage"):
        shipment |= {"signed": True, "signing": "in_person_uninspected"}
    body = {**body, "carrier": "best", "waybill": "123456789012", "station_province": None, "shipment": shipment,
            "customer": {"name": "张三", "phone": "13812345678", "role": customer.get("role", "sender")}}
    if not str(body.get("description") or "").strip():
        body["description"] = "parcel late"
    if kind == "change" and not body.get("change"):
        body["change"] = {"action": "return"}
    if kind == "consult" and not str(body.get("consult_answer") or "").strip():
        body["consult_answer"] = "answered at once"
    return body
