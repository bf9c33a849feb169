"""Who is who: the roles escalation SMS go to, each for a scope (SPEC §1, §5: R-ESC-1..3, R-ESC-6, R-URG-2, R-CLK-9).

A scope says whose director, VP, network manager or team lead a contact is: a province for the provincial roles
and the network manager, "hq" for the central desks, a desk or carrier code for a team lead.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from domain.shipment import PROVINCES


class Role(StrEnum):
    PROVINCIAL_CS_DIRECTOR = "provincial_cs_director"  # R-ESC-1, R-URG-2
    PROVINCIAL_VP = "provincial_vp"  # R-ESC-2
    HQ_CS = "hq_cs"  # R-ESC-3 (scope "hq")
    TEAM_LEAD = "team_lead"  # R-CLK-9 (scope: a desk/carrier code, e.g. "best")
    V_CARE = "v_care"  # R-CLK-9 (scope "hq")
    NETWORK_MANAGER = "network_manager"  # R-ESC-6 (scope: a province)
    URGENT_GROUP = "urgent_group"  # R-URG-2: reviews urgent tickets (scope: a desk/carrier code)
    CLAIMS_TEAM = "claims_team"  # R-CLM: decides claims (scope: a desk/carrier code)
    CLAIMS_SPECIALIST = "claims_specialist"  # SPEC §7: high-value or disputed claims (scope: a desk/carrier code)


HQ = "hq"
PROVINCIAL_ROLES: frozenset[Role] = frozenset({Role.PROVINCIAL_CS_DIRECTOR, Role.PROVINCIAL_VP, Role.NETWORK_MANAGER})
HQ_ROLES: frozenset[Role] = frozenset({Role.HQ_CS, Role.V_CARE})
_CODE = re.compile(r"[a-z0-9_-]{1,32}")
_E164 = r"^\+[1-9]\d{6,14}$"


def check_scope(role: Role, scope: str) -> str:
    """The scope normalised for the role (case and spaces do not matter), or ValueError saying what is expected."""
    role = Role(role)
    key = "".join(scope.split()).lower()
    if role in PROVINCIAL_ROLES:
        if key not in PROVINCES:
            raise ValueError(f"a {role.value} is for a province: {scope!r} is not one; use pinyin such as jiangsu")
        return key
    if role in HQ_ROLES:
        if key != HQ:
            raise ValueError(f"a {role.value} sits at headquarters: its scope is {HQ!r}, not {scope!r}")
        return key
    if not _CODE.fullmatch(key):  # the desk's roles: team lead, urgent group, claims team
        raise ValueError(
            f"a {role.value} is for a desk or carrier code such as 'best': {scope!r} is not one "
            "(1-32 of a-z, 0-9, '_' and '-')"
        )
    return key


class Contact(BaseModel):
    """One person the directory names for a role in a scope; the phone is E.164."""

    model_config = ConfigDict(frozen=True)

    role: Role
    scope: str = Field(examples=["jiangsu"])
    name: str = Field(min_length=1, max_length=200, examples=["王五"])
    phone: str = Field(pattern=_E164, examples=["+8613812345678"])

    @field_validator("scope")
    @classmethod
    def _scope_fits_role(cls, scope: str, info: ValidationInfo) -> str:
        role = info.data.get("role")
        return scope if role is None else check_scope(role, scope)  # no role: its own error is reported
