import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";

import {
  BadRequest, ConnectionFailed, InfraiClient, InfraiError, MissingApiKey, NotFound, ROUTES, RateLimited, ServerError,
} from "../dist/index.js";
import { startFake } from "./fake-server.mjs";

const KEY = "ifr_pk_proj_" + "a".repeat(40);
const noSleep = { sleep: async () => {}, credentialsFile: null };

describe("InfraiClient", () => {
  let fake;
  let client;
  before(async () => { fake = await startFake(); });
  after(async () => { await fake.close(); });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.script.length = 0;
    fake.fallback = [200, { ok: true }, {}];
    client = new InfraiClient({ apiKey: KEY, baseUrl: fake.url, ...noSleep });
  });

  it("creates a cron job with the seed's fields", async () => {
    fake.answer(201, { cron_id: "cron_1", name: "daily-digest" });
    const job = await client.job.cron.create({ schedule: "0 9 * * *", queue: "send-daily-digest", name: "daily-digest",
                                              payload: { segment: "active-users" } });
    assert.equal(job.cron_id, "cron_1");
    const [r] = fake.requests;
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/v1/scheduling/cron");
    assert.equal(r.headers.authorization, `Bearer ${KEY}`);
    assert.match(r.headers["idempotency-key"], /^idem_/);
    assert.deepEqual(r.body, { schedule: "0 9 * * *", queue: "send-daily-digest", name: "daily-digest",
                               payload: { segment: "active-users" } });
  });

  it("backfills a window and sends the catch-up window as given", async () => {
    await client.job.cron.backfill("cron_1", { since: "2026-11-23T00:00:00Z", until: "2026-11-30T00:00:00Z", idempotency_key: "k1" });
    await client.job.cron.create({ schedule: "0 * * * *", queue: "q", catch_up_window_seconds: 3600 });
    const [b, c] = fake.requests;
    assert.equal(b.path, "/v1/scheduling/cron/cron_1/backfill");
    assert.equal(b.headers["idempotency-key"], "k1");
    assert.deepEqual(b.body, { since: "2026-11-23T00:00:00Z", until: "2026-11-30T00:00:00Z" });
    assert.equal(c.body.catch_up_window_seconds, 3600);
  });

  it("sends a trace context as headers, never in the body", async () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    await client.job.queue.publish("q", {}, { traceparent: tp, tracestate: "rojo=1" });
    await client.job.queue.publishBatch([{ queue: "q", payload: {} }], { traceparent: tp });
    await client.job.webhook.send("https://example.com/h", {}, { traceparent: tp });
    await client.job.cron.trigger("cron_1", { traceparent: tp });
    await client.job.queue.publish("q", {});
    for (const r of fake.requests.slice(0, 4)) {
      assert.equal(r.headers.traceparent, tp);
      assert.equal((r.body ?? {}).traceparent, undefined);
    }
    assert.equal(fake.requests[0].headers.tracestate, "rojo=1");
    assert.equal(fake.requests[1].headers.tracestate, undefined);
    assert.equal(fake.requests[4].headers.traceparent, undefined);
  });

  it("derives a name from the target", async () => {
    await client.job.cron.create({ schedule: "* * * * *", url: "https://api.example.com/hooks/x/" });
    assert.equal(fake.requests[0].body.name, "api.example.com/hooks/x");
  });

  it("creates a job that publishes to a topic, named after it", async () => {
    await client.job.cron.create({ schedule: "0 9 * * *", topic: "reports", event_type: "report.daily", payload: { rows: 1 } });
    assert.deepEqual(fake.requests[0].body, { schedule: "0 9 * * *", topic: "reports", event_type: "report.daily",
      payload: { rows: 1 }, name: "reports" });
  });

  it("calls every route of ROUTES through its method", async () => {
    const c = client;
    const calls = [
      [() => c.job.cron.list({ limit: 5 }), "scheduling.cron.list", "?limit=5"],
      [() => c.job.cron.get("cron_1"), "scheduling.cron.get"],
      [() => c.job.cron.update("cron_1", { enabled: false }), "scheduling.cron.update"],
      [() => c.job.cron.delete("cron_1"), "scheduling.cron.delete"],
      [() => c.job.cron.pause("cron_1"), "scheduling.cron.pause"],
      [() => c.job.cron.resume("cron_1"), "scheduling.cron.resume"],
      [() => c.job.cron.trigger("cron_1"), "scheduling.cron.trigger"],
      [() => c.job.cron.runs("cron_1"), "scheduling.cron.runs"],
      [() => c.job.cron.backfill("cron_1", { since: "2026-11-23T00:00:00Z", until: "2026-11-30T00:00:00Z" }), "scheduling.cron.backfill"],
      [() => c.job.queue.publish("q", { a: 1 }, { delay_seconds: 0 }), "scheduling.queue.publish"],
      [() => c.job.queue.publishBatch([{ queue: "q", payload: {} }]), "scheduling.queue.publish_batch"],
      [() => c.job.queue.create("q", { url: "https://x.example.com" }), "scheduling.queue.put"],
      [() => c.job.queue.get("q"), "scheduling.queue.get"],
      [() => c.job.queue.list(), "scheduling.queue.list"],
      [() => c.job.queue.delete("q", { force: true }), "scheduling.queue.delete", "?force=true"],
      [() => c.job.queue.messages("q", { state: "held" }), "scheduling.queue.messages", "?state=held"],
      [() => c.job.queue.message("msg_1"), "scheduling.queue.message"],
      [() => c.job.queue.cancel("msg_1"), "scheduling.queue.cancel"],
      [() => c.job.queue.retry("msg_1"), "scheduling.queue.retry"],
      [() => c.job.webhook.send("https://x.example.com", {}), "scheduling.webhook.send"],
      [() => c.job.webhook.get("dlv_1"), "scheduling.webhook.get"],
      [() => c.job.webhook.list({ state: "failed" }), "scheduling.webhook.list", "?state=failed"],
      [() => c.job.webhook.retry("dlv_1"), "scheduling.webhook.retry"],
      [() => c.job.webhook.cancel("dlv_1"), "scheduling.webhook.cancel"],
      [() => c.job.webhook.secret(), "scheduling.webhook.secret"],
      [() => c.job.webhook.rotateSecret(), "scheduling.webhook.rotate_secret"],
      [() => c.job.webhook.publicKeys(), "scheduling.webhook.public_keys"],
      [() => c.job.webhook.rotatePublicKey(), "scheduling.webhook.rotate_public_key"],
      [() => c.auth.me(), "auth.me"],
      [() => c.auth.createKey(), "auth.keys.create"],
      [() => c.auth.revokeKey("key_1"), "auth.keys.revoke"],
      [() => c.auth.updateProject({ retention_days: { failed: 30 } }), "auth.project.update"],
      [() => c.auth.expungeProject("proj_1"), "auth.project.expunge"],
      [() => c.auth.expungeStatus(), "auth.project.expunge_status"],
      [() => c.health(), "health.get"],
      [() => c.openapi(), "openapi.get"],
      [() => c.deliveries.list({ state: "failed", status_code: 500 }), "scheduling.deliveries.list", "?state=failed&status_code=500"],
      [() => c.deliveries.replay({ state: "failed", host: "x.example.com" }), "scheduling.deliveries.replay"],
      [() => c.deliveries.replayStatus("rpl_1"), "scheduling.replays.get"],
      [() => c.flows.put("acme", { rate_limit: { count: 10, period_seconds: 1 } }), "scheduling.flows.put"],
      [() => c.flows.get("acme"), "scheduling.flows.get"],
      [() => c.flows.list(), "scheduling.flows.list"],
      [() => c.flows.delete("acme"), "scheduling.flows.delete"],
      [() => c.endpoints.list(), "scheduling.endpoints.list"],
      [() => c.endpoints.release("ep_1"), "scheduling.endpoints.release"],
      [() => c.events.set({ url: "https://ops.example.com/events" }), "scheduling.events.put"],
      [() => c.events.get(), "scheduling.events.get"],
      [() => c.events.delete(), "scheduling.events.delete"],
      [() => c.topics.put("q", { description: "Orders" }), "scheduling.topics.put"],
      [() => c.topics.get("q"), "scheduling.topics.get"],
      [() => c.topics.list(), "scheduling.topics.list"],
      [() => c.topics.delete("q"), "scheduling.topics.delete"],
      [() => c.topics.publish("q", "order.paid", { amount: 150 }), "scheduling.topics.publish"],
      [() => c.topics.subscribe("q", { url: "https://x.example.com" }), "scheduling.topics.subscribe"],
      [() => c.topics.subscriptions("q"), "scheduling.topics.subscriptions"],
      [() => c.topics.subscription("sub_1"), "scheduling.subscriptions.get"],
      [() => c.topics.updateSubscription("sub_1", { paused: true }), "scheduling.subscriptions.update"],
      [() => c.topics.deleteSubscription("sub_1"), "scheduling.subscriptions.delete"],
      [() => c.topics.pauseSubscription("sub_1"), "scheduling.subscriptions.pause"],
      [() => c.topics.resumeSubscription("sub_1"), "scheduling.subscriptions.resume"],
      [() => c.topics.putEventType("q", { schema: { type: "object" } }), "scheduling.event_types.put"],
      [() => c.topics.eventType("q"), "scheduling.event_types.get"],
      [() => c.topics.eventTypes(), "scheduling.event_types.list"],
      [() => c.topics.deleteEventType("q"), "scheduling.event_types.delete"],
    ];
    for (const [call, op, query = ""] of calls) {
      await call();
      const r = fake.requests.at(-1);
      const { method, path } = ROUTES[op];
      const expected = path.replace(/\{\w+\}/, (m) => ({ "{cron_id}": "cron_1", "{name}": "q", "{message_id}": "msg_1",
        "{delivery_id}": "dlv_1", "{key_id}": "key_1", "{replay_id}": "rpl_1", "{key}": "acme", "{endpoint_id}": "ep_1",
        "{subscription_id}": "sub_1" })[m]);
      assert.equal(`${r.method} ${r.path}`, `${method} ${expected}${query}`, op);
      assert.equal("idempotency-key" in r.headers, method === "POST", op);
    }
  });

  it("creates scoped keys, lists them and reads the audit log by the API's names", async () => {
    await client.auth.createKey({ scopes: ["read", "publish"], queues: ["q1"], name: "ci", idempotency_key: "k".repeat(32) });
    await client.auth.createKey();
    await client.auth.listKeys();
    await client.auth.audit({ since: "2026-12-01T00:00:00Z", key_id: "key_1", resource: "cron_1", limit: 5 });
    const [scoped, plain, list, audit] = fake.requests;
    assert.deepEqual(scoped.body, { scopes: ["read", "publish"], queues: ["q1"], name: "ci" });
    assert.equal(scoped.headers["idempotency-key"], "k".repeat(32));
    assert.deepEqual(plain.body, {});
    assert.equal(`${list.method} ${list.path}`, "GET /v1/auth/keys");
    assert.equal(`${audit.method} ${audit.path}`,
      "GET /v1/auth/audit?since=2026-12-01T00%3A00%3A00Z&key_id=key_1&resource=cron_1&limit=5");
  });

  it("sends the project's settings and the expunge's confirmation by the API's names", async () => {
    await client.auth.updateProject({ retention_days: { succeeded: 7 } });
    await client.auth.updateProject({ signatures: ["v1", "v1a"] });
    await client.auth.expungeProject("proj_1", { idempotency_key: "k1" });
    const [patch, signatures, expunge] = fake.requests;
    assert.deepEqual(patch.body, { retention_days: { succeeded: 7 } });
    assert.deepEqual(signatures.body, { signatures: ["v1", "v1a"] });
    assert.deepEqual(expunge.body, { confirm: "proj_1" });
    assert.equal(expunge.headers["idempotency-key"], "k1");
  });

  it("sends flow control and breaker fields by the API's names", async () => {
    await client.job.queue.update("q", { rate_limit: { count: 10, period_seconds: 1 }, parallelism: 1, circuit_breaker: null });
    assert.deepEqual(fake.requests.at(-1).body, { rate_limit: { count: 10, period_seconds: 1 }, parallelism: 1, circuit_breaker: null });
    await client.job.webhook.send("https://x.example.com", {}, { flow_key: "acme" });
    assert.equal(fake.requests.at(-1).body.flow_key, "acme");
    await client.flows.put("acme", { parallelism: null });
    assert.deepEqual(fake.requests.at(-1).body, { parallelism: null });
    await client.job.webhook.send("https://x.example.com", {}, { circuit_breaker: null });
    assert.equal(fake.requests.at(-1).body.circuit_breaker, null);
    await client.job.cron.update("cron_1", { circuit_breaker: { failures: 3 } });
    assert.deepEqual(fake.requests.at(-1).body, { circuit_breaker: { failures: 3 } });
  });

  it("publishes to a topic and subscribes by the API's names", async () => {
    await client.topics.publish("orders", "order.paid", { amount: 150 }, { delay_seconds: 5, idempotency_key: "k1" });
    let r = fake.requests.at(-1);
    assert.deepEqual(r.body, { event_type: "order.paid", payload: { amount: 150 }, delay_seconds: 5 });
    assert.equal(r.headers["idempotency-key"], "k1");
    await client.topics.subscribe("orders", { url: "https://x.example.com", event_types: ["order.paid"],
      filter: { amount: [{ numeric: [">", 100] }] }, retries: 5 });
    r = fake.requests.at(-1);
    assert.deepEqual(r.body, { url: "https://x.example.com", event_types: ["order.paid"],
      filter: { amount: [{ numeric: [">", 100] }] }, retries: 5 });
    await client.topics.updateSubscription("sub_1", { event_types: null, filter: null });
    assert.deepEqual(fake.requests.at(-1).body, { event_types: null, filter: null });
    const queue = { type: "sqs", arn: "arn:aws:sqs:us-east-1:123456789012:orders", role_arn: "arn:aws:iam::123456789012:role/r" };
    await client.topics.subscribe("orders", { destination: queue, event_types: ["order.paid"] });
    assert.deepEqual(fake.requests.at(-1).body, { destination: queue, event_types: ["order.paid"] });
    await client.topics.updateSubscription("sub_1", { destination: { type: "eventbridge", arn: "arn:aws:events:us-east-1:123456789012:event-bus/b" } });
    assert.deepEqual(fake.requests.at(-1).body.destination.type, "eventbridge");
    await client.deliveries.list({ topic: "orders", subscription_id: "sub_1" });
    assert.equal(fake.requests.at(-1).path, "/v1/scheduling/deliveries?topic=orders&subscription_id=sub_1");
  });

  it("sends an endpoint's auth by the API's name", async () => {
    const oauth2 = { type: "oauth2_client_credentials", token_url: "https://auth.example.com/token", client_id: "id", client_secret: "s" };
    await client.job.webhook.send("https://x.example.com", {}, { auth: oauth2 });
    assert.deepEqual(fake.requests.at(-1).body, { url: "https://x.example.com", payload: {}, auth: oauth2 });
    const mtls = { type: "mtls", certificate: "-----BEGIN CERTIFICATE-----", private_key: "-----BEGIN PRIVATE KEY-----" };
    await client.job.queue.create("q", { url: "https://x.example.com", auth: mtls });
    assert.deepEqual(fake.requests.at(-1).body, { url: "https://x.example.com", auth: mtls });
    await client.job.cron.update("cron_1", { auth: null });
    assert.deepEqual(fake.requests.at(-1).body, { auth: null });
  });

  it("sends callbacks and retry schedules by their API names", async () => {
    await client.job.webhook.send("https://x.example.com", {}, {
      retry_schedule: [1, 5], callback_url: "https://cb.example.com/ok", failure_callback_url: "https://cb.example.com/fail",
    });
    await client.job.queue.publish("q", { a: 1 }, { callback_url: "https://cb.example.com/ok", idempotency_key: "k1" });
    await client.job.queue.update("q", { retry_schedule: null });
    await client.job.cron.create({ schedule: "0 9 * * *", queue: "q", retry_schedule: "exponential" });
    const [send, publish, put, cron] = fake.requests;
    assert.deepEqual(send.body, { url: "https://x.example.com", payload: {}, retry_schedule: [1, 5],
      callback_url: "https://cb.example.com/ok", failure_callback_url: "https://cb.example.com/fail" });
    assert.deepEqual(publish.body, { queue: "q", payload: { a: 1 }, callback_url: "https://cb.example.com/ok" });
    assert.equal(publish.headers["idempotency-key"], "k1");
    assert.deepEqual(put.body, { retry_schedule: null });
    assert.equal(cron.body.retry_schedule, "exponential");
  });

  it("surfaces the server's error unchanged", async () => {
    fake.answer(400, { error: { code: "invalid_schedule", message: "Bad cron.", field: "schedule" } });
    await assert.rejects(client.job.cron.create({ schedule: "nope", queue: "q" }), (e) => {
      assert.ok(e instanceof BadRequest && e instanceof InfraiError);
      assert.deepEqual([e.status, e.code, e.message, e.field], [400, "invalid_schedule", "Bad cron.", "schedule"]);
      return true;
    });
    fake.answer(404, { error: { code: "not_found", message: "No cron job" } });
    await assert.rejects(client.job.cron.get("cron_x"), NotFound);
  });

  it("retries 5xx and 429 with the same idempotency key, honouring Retry-After", async () => {
    const slept = [];
    const c = new InfraiClient({ apiKey: KEY, baseUrl: fake.url, credentialsFile: null, sleep: async (ms) => { slept.push(ms); } });
    fake.answer(503, { error: { code: "unavailable", message: "later" } });
    fake.answer(429, { error: { code: "quota_exceeded", message: "slow" } }, { "Retry-After": "2" });
    fake.answer(502, null);
    fake.answer(202, { message_id: "msg_1" });
    assert.deepEqual(await c.job.queue.publish("q", {}), { message_id: "msg_1" });
    assert.equal(fake.requests.length, 4);
    assert.equal(new Set(fake.requests.map((r) => r.headers["idempotency-key"])).size, 1);
    assert.equal(slept[1], 2000);
  });

  it("gives up after the retries and does not wait out a long Retry-After", async () => {
    fake.fallback = [500, { error: { code: "internal_error", message: "boom" } }, {}];
    await assert.rejects(client.job.webhook.send("https://x.example.com", {}), ServerError);
    assert.equal(fake.requests.length, 4);
    fake.requests.length = 0;
    fake.answer(429, { error: { code: "quota_exceeded", message: "daily" } }, { "Retry-After": "3600" });
    await assert.rejects(client.job.queue.publish("q", {}), (e) => e instanceof RateLimited && e.retryAfter === 3600);
    assert.equal(fake.requests.length, 1);
    fake.requests.length = 0;
    const tomorrow = new Date(Date.now() + 20 * 3600 * 1000).toISOString();
    fake.answer(429, { error: { code: "quota_exceeded", message: "daily", resets_at: tomorrow } });
    await assert.rejects(client.job.queue.publish("q", {}), (e) => e instanceof RateLimited && e.retryAfter > 3600);
    assert.equal(fake.requests.length, 1, "a 429 that resets tomorrow is not retried, even without Retry-After");
  });

  it("retries connection errors with the same key, then fails clearly", async () => {
    const keys = [];
    const failing = async (url, init) => { keys.push(init.headers["Idempotency-Key"]); throw new TypeError("fetch failed"); };
    const c = new InfraiClient({ apiKey: KEY, baseUrl: fake.url, fetch: failing, ...noSleep });
    await assert.rejects(c.job.cron.trigger("cron_1"), (e) => e instanceof ConnectionFailed && /could not reach the infrai API/.test(e.message));
    assert.equal(keys.length, 4);
    assert.equal(new Set(keys).size, 1);
  });

  it("says how to get a key when there is none", async () => {
    const saved = process.env.INFRAI_API_KEY;
    delete process.env.INFRAI_API_KEY;
    try {
      const c = new InfraiClient({ baseUrl: fake.url, credentialsFile: null });
      await assert.rejects(c.job.cron.list(), (e) => e instanceof MissingApiKey && /infra\.activate\(\)/.test(e.message)
        && /INFRAI_API_KEY/.test(e.message));
      assert.equal(fake.requests.length, 0);
    } finally {
      if (saved !== undefined) process.env.INFRAI_API_KEY = saved;
    }
  });

  it("reads options, then the environment, then the credentials file", () => {
    const dir = mkdtempSync(join(tmpdir(), "infrai-"));
    const file = join(dir, "credentials");
    writeFileSync(file, JSON.stringify({ api_key: "from_file", base_url: "http://file:1" }));
    const saved = { key: process.env.INFRAI_API_KEY, url: process.env.INFRAI_BASE_URL };
    try {
      delete process.env.INFRAI_API_KEY;
      delete process.env.INFRAI_BASE_URL;
      let c = new InfraiClient({ credentialsFile: file });
      assert.deepEqual([c.apiKey, c.baseUrl], ["from_file", "http://file:1"]);
      process.env.INFRAI_API_KEY = "from_env";
      process.env.INFRAI_BASE_URL = "http://env:2/";
      c = new InfraiClient({ credentialsFile: file });
      assert.deepEqual([c.apiKey, c.baseUrl], ["from_env", "http://env:2"]);
      c = new InfraiClient({ apiKey: "from_arg", baseUrl: "http://arg:3", credentialsFile: file });
      assert.deepEqual([c.apiKey, c.baseUrl], ["from_arg", "http://arg:3"]);
      delete process.env.INFRAI_API_KEY;
      delete process.env.INFRAI_BASE_URL;
      c = new InfraiClient({ credentialsFile: null });
      assert.deepEqual([c.apiKey, c.baseUrl], [undefined, "http://127.0.0.1:8000"]);
    } finally {
      for (const [name, v] of [["INFRAI_API_KEY", saved.key], ["INFRAI_BASE_URL", saved.url]]) {
        if (v === undefined) delete process.env[name]; else process.env[name] = v;
      }
    }
  });

  it("activate needs no key and then uses the new one", async () => {
    const c = new InfraiClient({ baseUrl: fake.url, credentialsFile: null });
    fake.answer(201, { project_id: "proj_1", api_key: KEY, key_id: "key_1", plan: "trial", limits: {} });
    const a = await c.auth.activate();
    assert.equal(a.project_id, "proj_1");
    assert.equal(fake.requests[0].headers.authorization, undefined);
    await c.auth.me();
    assert.equal(fake.requests[1].headers.authorization, `Bearer ${KEY}`);
  });
});
