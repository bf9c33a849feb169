"""/v1/directory over HTTP: ops list, put and remove who is who; bad input is a readable 422, never a 500."""

import httpx
import pytest
from fastapi import FastAPI

from api import directory, errors
from domain.directory import Role
from store.db import create_engine_for
from store.directory import DirectoryStore
from store.migrate import upgrade


@pytest.fixture
async def app(sqlite_url):
    # Only the directory router: the real app's lifespan would connect to Temporal, which is not running here.
    upgrade(sqlite_url)
    engine = create_engine_for(sqlite_url)
    app = FastAPI()
    errors.install(app)
    app.include_router(directory.router)
    app.state.directory = DirectoryStore(engine)
    yield app
    await engine.dispose()


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_put_creates_a_normalised_contact_and_get_lists_it(client, app):
    r = await client.put("/v1/directory/provincial_cs_director/Jiang Su", json={"name": " 王  五 ", "phone": "138 1234 5678"})
    assert r.status_code == 200
    wang = {"role": "provincial_cs_director", "scope": "jiangsu", "name": "王 五", "phone": "+8613812345678"}
    assert r.json() == wang
    assert [c.phone for c in await app.state.directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu")] == [wang["phone"]]
    r = await client.get("/v1/directory")
    assert r.status_code == 200
    assert r.json() == {"items": [wang], "total": 1, "limit": 50, "offset": 0}


async def test_put_again_with_a_new_name_renames(client):
    await client.put("/v1/directory/hq_cs/hq", json={"name": "钱七", "phone": "010 6512 3456"})
    r = await client.put("/v1/directory/hq_cs/HQ", json={"name": "钱小七", "phone": "+861065123456"})
    assert r.status_code == 200 and r.json()["name"] == "钱小七"
    body = (await client.get("/v1/directory", params={"role": "hq_cs"})).json()
    assert body["total"] == 1 and body["items"][0]["name"] == "钱小七"


async def test_get_filters_and_pages(client):
    people = [
        ("team_lead", "best", "孙八", "13712345678"),
        ("provincial_vp", "zhejiang", "赵六", "13912345678"),
        ("provincial_vp", "jiangsu", "王五", "13812345678"),
        ("provincial_vp", "jiangsu", "李四", "13612345678"),
    ]
    for role, scope, name, phone in people:
        assert (await client.put(f"/v1/directory/{role}/{scope}", json={"name": name, "phone": phone})).status_code == 200
    r = await client.get("/v1/directory", params={"role": "provincial_vp", "limit": 2, "offset": 1})
    assert r.status_code == 200
    body = r.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 2, 1)
    assert [(c["scope"], c["name"]) for c in body["items"]] == [("jiangsu", "李四"), ("zhejiang", "赵六")]
    r = await client.get("/v1/directory", params={"role": "provincial_vp", "scope": "Jiang Su"})
    assert [c["name"] for c in r.json()["items"]] == ["王五", "李四"]
    r = await client.get("/v1/directory", params={"scope": "BEST"})
    assert [c["role"] for c in r.json()["items"]] == ["team_lead"]


async def test_get_refuses_a_scope_unfit_for_the_role_and_an_unknown_role(client):
    r = await client.get("/v1/directory", params={"role": "hq_cs", "scope": "jiangsu"})
    assert r.status_code == 422
    [err] = r.json()["detail"]
    assert err["loc"] == ["query", "scope"] and "'hq'" in err["msg"]
    r = await client.get("/v1/directory", params={"role": "cook"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "role"]
    assert (await client.get("/v1/directory", params={"limit": 0})).status_code == 422


async def test_put_reports_every_bad_field_at_once_in_fastapis_shape(client, app):
    r = await client.put("/v1/directory/network_manager/atlantis", json={"name": "***", "phone": "138****5678"})
    assert r.status_code == 422
    detail = {tuple(e["loc"]): e for e in r.json()["detail"]}
    assert set(detail) == {("path", "scope"), ("body", "name"), ("body", "phone")}
    assert "province" in detail[("path", "scope")]["msg"] and "'atlantis'" in detail[("path", "scope")]["msg"]
    assert "letters" in detail[("body", "name")]["msg"] and "customer" not in detail[("body", "name")]["msg"]
    assert "complete" in detail[("body", "phone")]["msg"]
    assert detail[("body", "phone")]["input"] == "138****5678"
    assert await app.state.directory.entries(None, None, 10, 0) == ([], 0)


@pytest.mark.parametrize("path, body, loc", [
    ("/v1/directory/team_lead/best desk!", {"name": "孙八", "phone": "13712345678"}, ["path", "scope"]),
    ("/v1/directory/v_care/jiangsu", {"name": "孙八", "phone": "13712345678"}, ["path", "scope"]),
    ("/v1/directory/provincial_vp/jiangsu", {"name": "孙八", "phone": "12345"}, ["body", "phone"]),
    ("/v1/directory/provincial_vp/jiangsu", {"name": " ", "phone": "13712345678"}, ["body", "name"]),
    ("/v1/directory/chef/jiangsu", {"name": "孙八", "phone": "13712345678"}, ["path", "role"]),
    ("/v1/directory/provincial_vp/jiangsu", {"name": "孙八"}, ["body", "phone"]),
])
async def test_put_refuses_each_bad_input(client, path, body, loc):
    r = await client.put(path, json=body)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [loc]
    assert all(e["msg"] for e in r.json()["detail"])


async def test_delete_by_e164_or_national_then_404(client, app):
    for phone in ("13812345678", "13912345678"):
        await client.put("/v1/directory/provincial_cs_director/jiangsu", json={"name": "王五", "phone": phone})
    r = await client.delete("/v1/directory/provincial_cs_director/jiangsu/%2B8613812345678")
    assert r.status_code == 204 and r.content == b""
    r = await client.delete("/v1/directory/provincial_cs_director/Jiangsu/139%201234%205678")
    assert r.status_code == 204
    assert await app.state.directory.contacts(Role.PROVINCIAL_CS_DIRECTOR, "jiangsu") == []
    assert (await client.get("/v1/directory")).json()["total"] == 0
    r = await client.delete("/v1/directory/provincial_cs_director/jiangsu/13812345678")
    assert r.status_code == 404
    assert r.json()["detail"] == [{
        "loc": [], "msg": "no active provincial_cs_director for jiangsu with phone +8613812345678 in the directory",
        "type": "not_found",
    }]


async def test_a_removed_contact_put_back_is_active_again(client):
    await client.put("/v1/directory/v_care/hq", json={"name": "周九", "phone": "13612345678"})
    assert (await client.delete("/v1/directory/v_care/hq/13612345678")).status_code == 204
    assert (await client.put("/v1/directory/v_care/hq", json={"name": "周九", "phone": "13612345678"})).status_code == 200
    assert [c["name"] for c in (await client.get("/v1/directory", params={"role": "v_care"})).json()["items"]] == ["周九"]


async def test_delete_refuses_a_bad_phone_or_scope_with_422(client):
    r = await client.delete("/v1/directory/provincial_vp/jiangsu/not-a-phone")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "phone"]
    r = await client.delete("/v1/directory/hq_cs/jiangsu/13812345678")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "scope"]
