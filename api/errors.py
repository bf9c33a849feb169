"""Errors as readable 4xx/503 bodies, never a bare 500."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from domain.intake import IntakeRejected
from domain.policy import PolicyError


def not_found(ticket_id: str) -> HTTPException:
    return HTTPException(404, f"no ticket {ticket_id}")


def conflict(ticket_id: str, reason: str) -> HTTPException:
    return HTTPException(409, f"ticket {ticket_id}: {reason}")


_CUSTOMER_FIELDS = {"name", "phone"}


def _intake_loc(field: str) -> list[str]:
    return ["body", "customer", field] if field in _CUSTOMER_FIELDS else ["body", *field.split(".")]


def install(app: FastAPI) -> None:
    @app.exception_handler(IntakeRejected)
    async def _intake(_: Request, exc: IntakeRejected) -> JSONResponse:
        # Same shape as FastAPI's own validation errors, so clients parse one format.
        detail = [{"loc": _intake_loc(e.field), "msg": e.message, "type": "intake_rule"} for e in exc.errors]
        return JSONResponse(status_code=422, content={"detail": detail})

    @app.exception_handler(PolicyError)
    async def _policy(_: Request, exc: PolicyError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"the policy file cannot be used: {exc}"})

    @app.exception_handler(RPCError)
    async def _temporal(_: Request, exc: RPCError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": f"the workflow service is unavailable: {exc.message}"})
