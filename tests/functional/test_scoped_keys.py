"""Scoped API keys (docs/security.md#scopes): a key does what its scopes allow and gets a 403
naming the missing scope otherwise; a key limited to some queues publishes there only; keys
made before scopes are admin; every route declares the scope it needs."""
import json
import re
from pathlib import Path

from chalicelib.aws import keys, store
from chalicelib.services.tenancy import projects

from .conftest import Api, drain

ROOT = Path(__file__).resolve().parents[2]


def new_key(api, client, **grant):
    made = api.call("POST", "/v1/auth/keys", grant)
    assert made.status_code == 201, made.data
    return Api(client, made.data["api_key"]), made.data


def forbidden(resp, scope):
    assert resp.status_code == 403, resp.data
    err = resp.data["error"]
    assert err["code"] == "forbidden" and err["missing_scope"] == scope
    assert f"'{scope}'" in err["message"] and "POST /v1/auth/keys" in err["message"]   # says how to fix it
    return err


def test_a_read_only_key_reads_and_gets_403_naming_publish_on_a_send(api, client):
    api.call("POST", "/v1/scheduling/cron", {"name": "n", "schedule": "0 9 * * *", "url": "https://hooks.example.com/"})
    reader, made = new_key(api, client, scopes=["read"], name="dashboard")
    assert made["scopes"] == ["read"] and made["queues"] is None and made["name"] == "dashboard"
    assert reader.call("GET", "/v1/scheduling/cron").data["items"][0]["name"] == "n"
    assert reader.call("GET", "/v1/auth/me").status_code == 200
    sent = reader.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {}})
    forbidden(sent, "publish")
    assert api.call("GET", "/v1/scheduling/webhook/deliveries").data["items"] == [], "nothing was sent"
    forbidden(reader.call("POST", "/v1/scheduling/cron", {"name": "x", "schedule": "0 9 * * *",
                                                          "url": "https://hooks.example.com/"}), "manage")
    forbidden(reader.call("GET", "/v1/scheduling/webhook/secret"), "admin")   # the secret forges signatures


def test_a_publish_key_limited_to_q1_publishes_to_q1_only(api, client, receiver):
    api.call("PUT", "/v1/scheduling/queue/q1", {"url": receiver.url("/q1")})
    api.call("PUT", "/v1/scheduling/queue/q2", {"url": receiver.url("/q2")})
    publisher, made = new_key(api, client, scopes=["publish"], queues=["q1"])
    assert made["queues"] == ["q1"]
    ok = publisher.call("POST", "/v1/scheduling/queue/publish", {"queue": "q1", "payload": {"n": 1}})
    assert ok.status_code == 202
    err = forbidden(publisher.call("POST", "/v1/scheduling/queue/publish", {"queue": "q2", "payload": {}}), "publish")
    assert err["field"] == "queue" and "q2" in err["message"]
    batch = publisher.call("POST", "/v1/scheduling/queue/publish-batch",
                           {"messages": [{"queue": "q1", "payload": {}}, {"queue": "q2", "payload": {}}]})
    assert forbidden(batch, "publish")["field"] == "messages[1].queue"
    forbidden(publisher.call("POST", "/v1/scheduling/webhook/send",
                             {"url": receiver.url("/elsewhere"), "payload": {}}), "publish")
    forbidden(publisher.call("GET", "/v1/scheduling/queue/q1/messages"), "read")   # scopes are explicit
    bad = publisher.call("POST", "/v1/scheduling/queue/publish", {"queue": 5, "payload": {}})
    assert bad.status_code == 400 and bad.data["error"]["field"] == "queue", "bad input is still a 400"
    drain()
    got = receiver.wait_for("/q1", 1)
    assert [r.json for r in got] == [{"n": 1}] and all(r.verified for r in got)
    assert receiver.at("/q2") == [] and receiver.at("/elsewhere") == []
    assert len(api.call("GET", "/v1/scheduling/queue/q1/messages").data["items"]) == 1, "the refused batch wrote nothing"


def test_a_manage_key_changes_configuration_but_cannot_make_keys(api, client):
    manager, _ = new_key(api, client, scopes=["manage"])
    job = manager.call("POST", "/v1/scheduling/cron", {"name": "n", "schedule": "0 9 * * *",
                                                       "url": "https://hooks.example.com/"})
    assert job.status_code == 201
    assert manager.call("POST", f"/v1/scheduling/cron/{job.data['cron_id']}/pause").status_code == 200
    forbidden(manager.call("POST", "/v1/auth/keys", {"scopes": ["read"]}), "admin")
    forbidden(manager.call("POST", "/v1/scheduling/webhook/secret/rotate"), "admin")
    forbidden(manager.call("PATCH", "/v1/auth/project", {"retention_days": {"succeeded": 7}}), "admin")
    assert len(api.call("GET", "/v1/auth/keys").data["keys"]) == 2


def test_keys_made_before_scopes_act_as_admin(api, client, project):
    item = store.get(*keys.api_key(projects.hash_key(project["api_key"])))
    assert "scopes" not in item, "the fixture's key is stored as every key was before scopes"
    listed = api.call("GET", "/v1/auth/keys").data["keys"]
    assert listed[0]["key_id"] == project["key_id"] and listed[0]["scopes"] == ["admin"]
    assert api.call("GET", "/v1/auth/me").data["keys"][0]["scopes"] == ["admin"]
    assert api.call("POST", "/v1/scheduling/webhook/secret/rotate").status_code == 200
    assert api.call("PATCH", "/v1/auth/project", {"retention_days": {"succeeded": 7}}).status_code == 200
    second, made = new_key(api, client)   # no scopes asked: admin, as before
    assert made["scopes"] == ["admin"]
    assert second.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/",
                                                               "payload": {}}).status_code == 202


def test_the_key_list_shows_grants_and_never_a_key(api, client, project):
    _, made = new_key(api, client, scopes=["publish", "read"], queues=["q1", "q1", "q2"], name="ci")
    listed = api.call("GET", "/v1/auth/keys").data["keys"]
    assert [k["key_id"] for k in listed] == [project["key_id"], made["key_id"]]
    mine = listed[1]
    assert mine["scopes"] == ["read", "publish"] and mine["queues"] == ["q1", "q2"] and mine["name"] == "ci"
    assert made["api_key"] not in json.dumps(listed) and mine["key"].endswith(made["api_key"][-4:])


def test_a_revoked_scoped_key_stops_at_once(api, client):
    reader, made = new_key(api, client, scopes=["read"])
    assert reader.call("GET", "/v1/auth/me").status_code == 200   # now cached on this instance
    assert api.call("DELETE", f"/v1/auth/keys/{made['key_id']}").status_code == 200
    assert reader.call("GET", "/v1/auth/me").status_code == 401


BAD_GRANTS = [
    ({"scopes": []}, "scopes"),
    ({"scopes": "read"}, "scopes"),
    ({"scopes": ["read", "owner"]}, "scopes"),
    ({"scopes": [1]}, "scopes"),
    ({"scopes": ["read", "read"]}, "scopes"),
    ({"scopes": ["read"], "queues": ["q1"]}, "queues"),          # queues limit publishing: needs publish
    ({"scopes": ["publish"], "queues": []}, "queues"),
    ({"scopes": ["publish"], "queues": "q1"}, "queues"),
    ({"scopes": ["publish"], "queues": ["ok", "bad name"]}, "queues[1]"),
    ({"scopes": ["publish"], "queues": [".."]}, "queues[0]"),
    ({"scopes": ["read"], "name": "a\u202eb"}, "name"),
    ({"scopes": ["read"], "name": "x" * 61}, "name"),
    ({"scopes": ["read"], "owner": "me"}, "owner"),
]


def test_a_bad_grant_is_400_and_makes_no_key(api):
    for body, field in BAD_GRANTS:
        resp = api.call("POST", "/v1/auth/keys", body)
        assert resp.status_code == 400 and resp.data["error"]["field"] == field, (body, resp.data)
    assert len(api.call("GET", "/v1/auth/keys").data["keys"]) == 1


def test_every_route_declares_its_scope():
    from app import app
    from chalicelib.api import console, http
    routes = {(path, method) for path, entries in app.routes.items() for method in entries
              if path != console.PREFIX and not path.startswith(console.PREFIX + "/")}
    undeclared = sorted(r for r in routes if http.DECLARED.get(r) is None)
    assert not undeclared, f"routes without scope= (chalicelib/api/http.py route): {undeclared}"


def test_the_security_page_states_each_routes_scope():
    """docs/security.md's table is the declarations: one row per route, the same scope."""
    from app import app
    from chalicelib.api import console, http
    routes = {f"{method} {path}" for path, entries in app.routes.items() for method in entries
              if path != console.PREFIX and not path.startswith(console.PREFIX + "/")}
    rows = re.findall(r"^\| `([A-Z]+ /\S+)` \| `(\w+)` \| (yes|no) \|$", (ROOT / "docs" / "security.md").read_text(), re.M)
    assert len(rows) == len({r[0] for r in rows}), "one row per route"
    declared = {f"{method} {path}": (scope, "yes" if http.audited(method, scope) else "no")
                for (path, method), scope in http.DECLARED.items()}
    assert {route: (scope, audited) for route, scope, audited in rows} == declared
    assert set(declared) == routes
