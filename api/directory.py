"""/v1/directory: who is who for the escalation SMS (SPEC §1, §5), managed by ops.

Phones are shown: this is an ops endpoint, not a customer's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api.deps import DirectoryStoreDep
from api.schemas import STRICT, Limit, Offset, Page, errors
from domain.directory import Contact, Role, check_scope
from domain.intake import IntakeError, normalise_name, normalise_phone

router = APIRouter(prefix="/v1/directory", tags=["directory"])

ContactPage = Page[Contact]


class ContactIn(BaseModel):
    model_config = STRICT

    name: str = Field(max_length=200, examples=["王五"])
    phone: str = Field(max_length=40, examples=["13812345678"], description="E.164, or a national Chinese number")


def _checked(checks: list[tuple[list[str], object, object]]) -> list:
    """Run each (loc, check, raw) and return the results, or raise every failure at once in FastAPI's 422 shape."""
    values, problems = [], []
    for loc, check, raw in checks:
        try:
            values.append(check(raw))
        except (IntakeError, ValueError) as exc:
            # normalise_name speaks of customers; here the name is a colleague's
            message = str(exc).replace("the customer's name", "the name")
            problems.append({"loc": loc, "msg": message, "type": "directory_rule", "input": raw})
    if problems:
        raise RequestValidationError(problems)
    return values


@router.get("", response_model=ContactPage)
async def entries(
    store: DirectoryStoreDep,
    role: Role | None = Query(None, description="only this role"),
    scope: str | None = Query(None, max_length=40, description="only this scope: a province, hq, or a desk code"),
    limit: Limit = 50,
    offset: Offset = 0,
) -> ContactPage:
    if scope is not None:
        if role is not None:
            (scope,) = _checked([(["query", "scope"], lambda s: check_scope(role, s), scope)])
        else:
            scope = "".join(scope.split()).lower()
    items, total = await store.entries(role, scope, limit, offset)
    return ContactPage(items=items, total=total, limit=limit, offset=offset)


@router.put("/{role}/{scope}", response_model=Contact)
async def put_contact(
    store: DirectoryStoreDep, body: ContactIn, role: Role, scope: str = Path(max_length=40)
) -> Contact:
    """Add the contact, or reactivate it and take the new name; the same contact again changes nothing."""
    scope, name, phone = _checked([
        (["path", "scope"], lambda s: check_scope(role, s), scope),
        (["body", "name"], normalise_name, body.name),
        (["body", "phone"], normalise_phone, body.phone),
    ])
    contact = Contact(role=role, scope=scope, name=name, phone=phone)
    await store.put(contact, datetime.now(UTC))
    return contact


@router.delete("/{role}/{scope}/{phone}", status_code=204, response_class=Response, responses=errors(404))
async def remove_contact(
    store: DirectoryStoreDep, role: Role, scope: str = Path(max_length=40), phone: str = Path(max_length=40)
) -> Response:
    """Take the contact off the directory; the phone is URL-encoded E.164 (%2B86...) or national."""
    scope, phone = _checked([
        (["path", "scope"], lambda s: check_scope(role, s), scope),
        (["path", "phone"], normalise_phone, phone),
    ])
    if not await store.remove(role, scope, phone, datetime.now(UTC)):
        raise HTTPException(404, f"no active {role.value} for {scope} with phone {phone} in the directory")
    return Response(status_code=204)
