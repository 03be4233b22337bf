"""The local stack answers only requests addressed to it by a loopback name and its own port
(issue 24): a page whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name as
Host and gets 421 in the error shape, so it can neither activate a project nor read one."""
import http.client
import json

import pytest


def request(stack, method, path, host, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True)
        if host is not None:
            conn.putheader("Host", host)
        data = json.dumps(body).encode() if body is not None else b""
        for name, value in {**({"Content-Type": "application/json"} if body is not None else {}),
                            **(headers or {}), "Content-Length": str(len(data))}.items():
            conn.putheader(name, value)
        conn.endheaders(data)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)
    finally:
        conn.close()


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:{port}", "127.0.0.1",
                                  "127.0.0.1:1", "localhost:{other}", "127.0.0.2:{port}",
                                  "localhost.evil.example.com:{port}", "", None])
def test_any_other_host_gets_421_in_the_error_shape(stack, host):
    host = host.format(port=stack.port, other=stack.port + 1) if host is not None else None
    for method, path, body in [("POST", "/v1/auth/activate", {}), ("GET", "/v1/auth/me", None),
                               ("GET", "/v1/health", None), ("GET", "/console/", None)]:
        status, got = request(stack, method, path, host, body,
                              headers={"Authorization": f"Bearer {stack.api_key}"})
        assert status == 421, (method, path, host, status, got)
        assert set(got["error"]) == {"code", "message", "field"}
        assert got["error"]["code"] == "misdirected_request"
        assert f"http://127.0.0.1:{stack.port}" in got["error"]["message"]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_its_own_names_and_port_are_answered(stack, host):
    status, got = request(stack, "GET", "/v1/auth/me", host.format(port=stack.port),
                          headers={"Authorization": f"Bearer {stack.api_key}"})
    assert status == 200, got
    assert got["project_id"] == stack.project_id


def test_a_refused_request_leaves_the_connection_usable(stack):
    conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
    try:
        conn.request("POST", "/v1/auth/activate", body=b"{}",
                     headers={"Host": "evil.example.com", "Content-Type": "application/json"})
        first = conn.getresponse()
        first.read()
        conn.request("GET", "/v1/health")   # http.client's own Host: 127.0.0.1:PORT
        second = conn.getresponse()
        second.read()
    finally:
        conn.close()
    assert (first.status, second.status) == (421, 200)


def test_the_embedded_aws_answers_only_its_own_names_too(stack):
    """moto checks no signature: a rebound page must not reach its port either."""
    def dynamodb_list_tables(host):
        conn = http.client.HTTPConnection("127.0.0.1", stack.moto_port, timeout=10)
        try:
            conn.request("POST", "/", body=b"{}", headers={
                "Host": host, "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                                 "SignedHeaders=host, Signature=0"})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()
    status, body = dynamodb_list_tables("evil.example.com")
    assert status == 421 and b"TableNames" not in body
    status, body = dynamodb_list_tables(f"127.0.0.1:{stack.moto_port}")
    assert status == 200 and b"TableNames" in body
