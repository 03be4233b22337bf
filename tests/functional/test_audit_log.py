"""The audit log (docs/security.md#the-audit-log): every change of configuration is on record
with its key, method, route template, resource, status and source address, and never a body,
a header value or a secret; its filters work; no other project ever sees it."""
import json
import logging

from chalicelib import config
from chalicelib.aws import clients, keys
from chalicelib.core import clock
from chalicelib.services.audit import audit_log
from chalicelib.services.tenancy import projects

from .conftest import Api

MARK = "payload-marker-7f3a"          # a value a payload carries: it must appear nowhere in the log
HEADER_VALUE = "header-value-91c2"


def new_key(api, client, **grant):
    made = api.call("POST", "/v1/auth/keys", grant).data
    return Api(client, made["api_key"]), made


def audit_items(project_id):
    """The log's items as stored, read past the API."""
    resp = clients.dynamodb().query(TableName=config.table_name(), KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": {"S": keys.audit_of(project_id)}})
    return resp["Items"]


def make_cron(key, name="nightly"):
    return key.call("POST", "/v1/scheduling/cron",
                    {"name": name, "schedule": "0 9 * * *", "url": "https://hooks.example.com/",
                     "payload": {"note": MARK}}, headers={"X-Custom": HEADER_VALUE})


def test_a_cron_create_is_listed_with_the_key_that_made_it_and_no_payload(api, client, project):
    manager, made = new_key(api, client, scopes=["manage"])
    job = make_cron(manager)
    assert job.status_code == 201
    entries = api.call("GET", "/v1/auth/audit").data["entries"]
    create = [e for e in entries if e["route"] == "/v1/scheduling/cron"]
    assert len(create) == 1
    e = create[0]
    assert e["key_id"] == made["key_id"] and e["method"] == "POST" and e["status"] == 201
    assert e["resource_id"] == job.data["cron_id"] and e["source_ip"] and e["at"].endswith("Z")
    stored = json.dumps(audit_items(project["project_id"]))
    for secret in (MARK, HEADER_VALUE, made["api_key"], project["api_key"], "Bearer"):
        assert secret not in stored and secret not in json.dumps(entries)
    # the key's own creation is on record too: by the project's first key, naming the new key
    made_key = [x for x in entries if x["route"] == "/v1/auth/keys"]
    assert [(x["key_id"], x["resource_id"], x["status"]) for x in made_key] == [
        (project["key_id"], made["key_id"], 201)]


def test_changes_are_logged_but_reads_publishes_and_sends_are_not(api, project):
    job = make_cron(api).data
    api.call("PATCH", f"/v1/scheduling/cron/{job['cron_id']}", {"name": "renamed"})
    api.call("POST", f"/v1/scheduling/cron/{job['cron_id']}/trigger")
    api.call("PUT", "/v1/scheduling/queue/q1", {"url": "https://hooks.example.com/"})
    api.call("POST", "/v1/scheduling/queue/publish", {"queue": "q1", "payload": {}})
    api.call("POST", "/v1/scheduling/webhook/send", {"url": "https://hooks.example.com/", "payload": {}})
    api.call("GET", "/v1/scheduling/cron")
    rotated = api.call("POST", "/v1/scheduling/webhook/secret/rotate").data
    api.call("DELETE", f"/v1/scheduling/cron/{job['cron_id']}")
    entries = api.call("GET", "/v1/auth/audit").data["entries"]
    assert [(e["method"], e["route"], e["resource_id"]) for e in entries] == [   # newest first
        ("DELETE", "/v1/scheduling/cron/{cron_id}", job["cron_id"]),
        ("POST", "/v1/scheduling/webhook/secret/rotate", None),
        ("PUT", "/v1/scheduling/queue/{name}", "q1"),
        ("POST", "/v1/scheduling/cron/{cron_id}/trigger", job["cron_id"]),
        ("PATCH", "/v1/scheduling/cron/{cron_id}", job["cron_id"]),
        ("POST", "/v1/scheduling/cron", job["cron_id"]),
    ]
    assert rotated["secret"] not in json.dumps(audit_items(project["project_id"]))


def test_a_key_beyond_its_scopes_is_on_record_and_other_refusals_change_nothing(api, client, project):
    reader, made = new_key(api, client, scopes=["read"])
    assert make_cron(reader).status_code == 403
    assert reader.call("POST", "/v1/scheduling/cron/cron_01ARZ3NDEKTSV4RRFFQ69G5FAV/pause").status_code == 403
    entries = reader.call("GET", "/v1/auth/audit").data["entries"]   # read scope reads the log
    assert [(e["key_id"], e["status"], e["resource_id"]) for e in entries[:2]] == [
        (made["key_id"], 403, "cron_01ARZ3NDEKTSV4RRFFQ69G5FAV"), (made["key_id"], 403, None)]
    before = audit_items(project["project_id"])
    assert api.call("POST", "/v1/scheduling/cron/cron_01ARZ3NDEKTSV4RRFFQ69G5FAV/pause").status_code == 404
    assert api.call("POST", "/v1/scheduling/cron", {"name": "x", "schedule": "61 * * * *",
                                                    "url": "https://hooks.example.com/"}).status_code == 400
    assert api.call("DELETE", f"/v1/auth/keys/{project['key_id']}x").status_code == 404
    assert audit_items(project["project_id"]) == before, "a refused request changes nothing, the log included"


def test_filters_since_until_key_and_resource(api, client, monkeypatch):
    second, made = new_key(api, client, scopes=["manage"])
    t = [clock.now() + 3600]
    monkeypatch.setattr(clock, "now", lambda: t[0])
    a = make_cron(api, "a").data["cron_id"]                       # t0
    t[0] += 60
    b = make_cron(second, "b").data["cron_id"]                    # t0 + 60
    t[0] += 60
    second.call("POST", f"/v1/scheduling/cron/{a}/pause")         # t0 + 120
    t0 = t[0] - 120

    def ids(**params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        resp = api.call("GET", "/v1/auth/audit" + (f"?{query}" if query else ""))
        assert resp.status_code == 200, resp.data
        return [(e["route"].rsplit("/", 1)[-1], e["resource_id"]) for e in resp.data["entries"]]

    assert ids(since=clock.rfc3339(t0)) == [("pause", a), ("cron", b), ("cron", a)]
    assert ids(since=clock.rfc3339(t0 + 30), until=clock.rfc3339(t0 + 120)) == [("cron", b)]
    assert ids(until=clock.rfc3339(t0 + 60), since=clock.rfc3339(t0)) == [("cron", a)]
    assert ids(key_id=made["key_id"]) == [("pause", a), ("cron", b)]
    assert ids(resource=a) == [("pause", a), ("cron", a)]
    assert ids(resource=a, key_id=made["key_id"]) == [("pause", a)]
    first = api.call("GET", f"/v1/auth/audit?since={clock.rfc3339(t0)}&limit=2").data
    assert len(first["entries"]) == 2 and first["next_cursor"]
    rest = api.call("GET", f"/v1/auth/audit?since={clock.rfc3339(t0)}&limit=2&cursor={first['next_cursor']}").data
    assert [e["resource_id"] for e in rest["entries"]] == [a]


def test_another_project_never_sees_it(api, client, project):
    make_cron(api, "a")
    make_cron(api, "b")
    other = Api(client, projects.create_project()["api_key"])
    assert other.call("GET", "/v1/auth/audit").data["entries"] == []
    assert other.call("GET", f"/v1/auth/audit?key_id={project['key_id']}").data["entries"] == []
    cursor = api.call("GET", "/v1/auth/audit?limit=1").data["next_cursor"]
    assert cursor
    stolen = other.call("GET", f"/v1/auth/audit?cursor={cursor}")
    assert stolen.status_code == 400 and stolen.data["error"]["field"] == "cursor"


def test_entries_expire_with_the_projects_longer_retention(api, project, monkeypatch):
    api.call("PATCH", "/v1/auth/project", {"retention_days": {"succeeded": 3, "failed": 10}})
    make_cron(api)
    items = audit_items(project["project_id"])
    ttls = [int(i["ttl"]["N"]) - float(i["at"]["N"]) for i in items]
    assert all(9 * 86400 < t <= 10 * 86400 for t in ttls), "kept as long as the longer period"
    later = clock.now() + 11 * 86400
    monkeypatch.setattr(clock, "now", lambda: later)   # moto never deletes by TTL: reads skip what expired
    assert api.call("GET", "/v1/auth/audit").data["entries"] == []


BAD_FILTERS = [
    ("since=yesterday", "since"), ("until=2026-01-01", "until"),
    ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since"),
    ("limit=0", "limit"), ("limit=101", "limit"), ("cursor=abc", "cursor"), ("owner=me", "owner"),
    ("key_id=" + "k" * 257, "key_id"),
]


def test_bad_filters_are_400(api):
    for query, field in BAD_FILTERS:
        resp = api.call("GET", f"/v1/auth/audit?{query}")
        assert resp.status_code == 400 and resp.data["error"]["field"] == field, (query, resp.data)


def test_a_failed_audit_write_keeps_the_answer_and_is_logged_without_values(api, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError(f"boom {MARK}")
    monkeypatch.setattr(audit_log, "record", broken)
    with caplog.at_level(logging.WARNING, logger=audit_log.__name__):
        job = make_cron(api)
    assert job.status_code == 201 and job.data["cron_id"]
    lines = [r for r in caplog.records if r.getMessage() == "audit entry not written"]
    assert len(lines) == 1 and lines[0].route == "/v1/scheduling/cron" and lines[0].status == 201
    assert lines[0].error == "RuntimeError"
    assert all(MARK not in (r.getMessage() + json.dumps(r.__dict__, default=str)) for r in caplog.records)
