"""Who is who: each role's scope rule (SPEC §1, §5), and a Contact that cannot hold a scope unfit for its role."""

import pytest
from pydantic import ValidationError

from domain.directory import Contact, Role, check_scope
from domain.shipment import PROVINCES

PROVINCIAL = [Role.PROVINCIAL_CS_DIRECTOR, Role.PROVINCIAL_VP, Role.NETWORK_MANAGER]
CENTRAL = [Role.HQ_CS, Role.V_CARE]


@pytest.mark.parametrize("role", PROVINCIAL)
@pytest.mark.parametrize("raw, key", [("jiangsu", "jiangsu"), ("Nei Menggu", "neimenggu"), (" SHAANXI ", "shaanxi")])
def test_provincial_roles_and_the_network_manager_are_for_a_province(role, raw, key):
    assert check_scope(role, raw) == key


@pytest.mark.parametrize("role", PROVINCIAL)
@pytest.mark.parametrize("raw", ["hq", "best", "", "jiangsu-1", "江苏", "taiwan"])
def test_provincial_roles_refuse_anything_but_a_province(role, raw):
    with pytest.raises(ValueError, match="province"):
        check_scope(role, raw)


def test_every_province_is_a_scope_of_a_provincial_role():
    assert {check_scope(Role.PROVINCIAL_VP, p) for p in PROVINCES} == PROVINCES


@pytest.mark.parametrize("role", CENTRAL)
def test_hq_cs_and_v_care_sit_at_headquarters(role):
    assert check_scope(role, " HQ ") == "hq"
    for raw in ["jiangsu", "best", "", "headquarters"]:
        with pytest.raises(ValueError, match="'hq'"):
            check_scope(role, raw)


@pytest.mark.parametrize("raw, key", [("best", "best"), ("SH-PD_01", "sh-pd_01"), ("jiangsu", "jiangsu"), ("a" * 32, "a" * 32)])
def test_a_team_lead_is_for_a_desk_or_carrier_code(raw, key):
    assert check_scope(Role.TEAM_LEAD, raw) == key


@pytest.mark.parametrize("raw", ["", "a" * 33, "best/desk", "dësk", "b.e.s.t", "组长"])
def test_a_team_lead_code_is_1_to_32_of_a_z_0_9_underscore_and_dash(raw):
    with pytest.raises(ValueError, match="desk or carrier code"):
        check_scope(Role.TEAM_LEAD, raw)


def test_the_message_names_the_role_and_the_scope_given():
    with pytest.raises(ValueError) as err:
        check_scope(Role.PROVINCIAL_CS_DIRECTOR, "atlantis")
    assert "provincial_cs_director" in str(err.value) and "'atlantis'" in str(err.value)


def test_a_contact_normalises_its_scope_and_is_frozen():
    contact = Contact(role="network_manager", scope="Zhe Jiang", name="王五", phone="+8613812345678")
    assert contact.role is Role.NETWORK_MANAGER and contact.scope == "zhejiang"
    with pytest.raises(ValidationError):
        contact.name = "赵六"  # type: ignore[misc]


@pytest.mark.parametrize("changes", [
    {"scope": "best"},                       # not a province
    {"role": Role.HQ_CS},                    # hq_cs is for "hq", not jiangsu
    {"role": "cook"},                        # no such role
    {"phone": "13812345678"},                # not E.164
    {"name": ""},
])
def test_a_contact_refuses_what_does_not_fit(changes):
    fields = {"role": Role.PROVINCIAL_VP, "scope": "jiangsu", "name": "王五", "phone": "+8613812345678", **changes}
    with pytest.raises(ValidationError):
        Contact(**fields)
