"""The functions' memory, measured (docs/deployment.md#memory-and-architecture): each handler
runs in a fresh Python process of its own, as in a Lambda sandbox, against moto (in another
process, so its memory is not counted) and a local receiver, through a heavy share of its real
work; the process's peak resident set (ru_maxrss) is what the function needs, before Lambda's
runtime adds its own. Each step's CPU time (user + system, this machine's CPU at full speed) is
also printed: Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB), so
at M MB that work takes about cpu x 1769 / M.

    python -m deploy.measure_memory

- api_handler: through the HTTP API adapter (app.http_api_handler, payload 1.0): activate,
  200 webhook sends of 1 KB, 10 publish-batches of 100 messages of 1 KB, 20 pages of 100
  deliveries, the OpenAPI document (the largest answer), the console's script.
- deliver: app.deliver on 20 SQS batches of 10 of the work those made.
- reconcile: app.reconcile three times (the timers' tick, handed out by shard, and the sweep).
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHILD = r'''
import json, os, resource, sys
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
role, work = sys.argv[1], sys.argv[2]
t0 = cpu()
import app
after_import, cpu_ms = rss_mb(), {"import": (cpu() - t0) * 1000}
def timed(name, n, fn):
    t = cpu()
    for i in range(n):
        fn(i)
    cpu_ms[name] = round((cpu() - t) * 1000 / n, 1)
class Ctx:
    function_name, aws_request_id, memory_limit_in_mb = "measure", "req", 256
    @staticmethod
    def get_remaining_time_in_millis(): return 29000
def event(method, path, body=None, key=None):
    headers = {"host": "abc.execute-api.us-east-1.amazonaws.com", "content-type": "application/json"}
    if key: headers["authorization"] = "Bearer " + key
    return {"version": "1.0", "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": {"proxy": path[1:]}, "stageVariables": None,
            "requestContext": {"httpMethod": method, "path": path, "resourcePath": "/{proxy+}", "stage": "$default",
                               "requestId": "r", "identity": {"sourceIp": "192.0.2.1"}},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}
w = json.load(open(work))
if role == "api":
    h, key, url = app.http_api_handler, w["api_key"], w["url"]
    payload = {"blob": "x" * 1000}
    def ok(resp, status):
        assert resp["statusCode"] == status, resp["body"][:300]
    h(event("GET", "/v1/health"), Ctx())
    # once before timing: the first call of each kind makes its boto3 clients (the cold start's, not a request's)
    ok(h(event("POST", "/v1/scheduling/webhook/send", {"url": url, "payload": payload}, key), Ctx()), 202)
    ok(h(event("POST", "/v1/scheduling/queue/publish-batch", {
        "messages": [{"queue": "jobs", "payload": payload} for _ in range(100)]}, key), Ctx()), 202)
    timed("webhook_send", 200, lambda i: ok(h(event("POST", "/v1/scheduling/webhook/send",
                                                    {"url": url, "payload": payload}, key), Ctx()), 202))
    timed("publish_batch_of_100", 10, lambda i: ok(h(event("POST", "/v1/scheduling/queue/publish-batch", {
        "messages": [{"queue": "jobs", "payload": payload} for _ in range(100)]}, key), Ctx()), 202))
    timed("list_page", 20, lambda i: ok(h(event("GET", "/v1/scheduling/deliveries", None, key), Ctx()), 200))
    timed("openapi_json", 1, lambda i: ok(h(event("GET", "/v1/openapi.json"), Ctx()), 200))
    ok(h(event("GET", "/console/app.js"), Ctx()), 200)
elif role == "deliver":
    def one(n):
        records = [{"messageId": f"m{n}-{i}", "receiptHandle": f"h{n}-{i}", "body": body,
                    "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:infrai-local-dispatch"}
                   for i, body in enumerate(w["batches"][n])]
        app.deliver({"Records": records}, Ctx())
    one(0)
    timed("batch_of_10", len(w["batches"]) - 1, lambda i: one(i + 1))
else:
    tick = {"id": "e", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-12-07T00:00:00Z",
            "resources": [], "detail": {}, "account": "1", "region": "us-east-1", "version": "0"}
    app.reconcile(tick, Ctx())
    timed("run", 3, lambda i: app.reconcile(tick, Ctx()))
cpu_ms["import"] = round(cpu_ms["import"], 1)
print(json.dumps({"after_import_mb": round(after_import, 1),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "cpu_ms": cpu_ms}))
'''


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrivals = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        type(self).arrivals += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _child(role: str, work: dict, env: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(work, f)
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, role, f.name], env=env, capture_output=True,
                             text=True, timeout=600, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    finally:
        os.unlink(f.name)
    if out.returncode:
        raise SystemExit(f"{role} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure() -> dict:
    from local.moto_process import MotoProcess
    from local.stack import free_port, local_environment

    from . import stage as stages

    port = free_port()
    moto = MotoProcess(port).start()
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    env = {**os.environ, **stages.stage_environment("local"), **local_environment(port),
           "INFRAI_LOG_FORMAT": "json", "INFRAI_LOG_SAMPLE_RATE": "0",
           # secrets are sealed at rest: a key for this measurement, as the local stack keeps its own
           "INFRAI_SEAL_KEY": os.environ.get("INFRAI_SEAL_KEY") or base64.b64encode(os.urandom(32)).decode()}
    env.pop("INFRAI_OPS_LOG", None)
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        from chalicelib.aws import clients
        from chalicelib.services.tenancy import projects
        from local import provision
        clients.reset()
        provision.provision()
        project = projects.create_project(plan="unlimited")
        url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        # the queue's endpoint, so published messages are work, not held
        results = {"api_handler": _child("api", {"api_key": project["api_key"], "url": url}, env)}
        import boto3
        sqs = boto3.client("sqs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
        queue_url = sqs.get_queue_url(QueueName=env["INFRAI_DISPATCH_QUEUE"])["QueueUrl"]
        bodies = []
        while len(bodies) < 200:
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            bodies += [m["Body"] for m in got]
        results["deliver"] = _child("deliver", {"batches": [bodies[i:i + 10] for i in range(0, len(bodies), 10)]}, env)
        results["deliver"]["batches"] = -(-len(bodies) // 10)
        results["deliver"]["sends_received"] = _Ok.arrivals
        results["reconcile"] = _child("reconcile", {}, env)
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)
        receiver.shutdown()
        moto.stop()


def main() -> int:
    for name, r in measure().items():
        print(f"{name:<12} {json.dumps(r)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
