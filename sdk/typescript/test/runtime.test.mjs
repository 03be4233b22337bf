// The SDK where Node's built-ins are missing (edge runtimes), as CommonJS, and its errors when
// the API cannot be reached.
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createServer as createHttpServer } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";

import { ConnectionFailed, InfraiClient } from "../dist/index.js";
import { startFake } from "./fake-server.mjs";

const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BLOCKER = ROOT + "test/no-builtins.cjs";
const KEY = "ifr_pk_proj_" + "a".repeat(40);
const VECTOR = { secret: "whsec_plJ3nmyCDGBKInavdOK15jsl", id: "msg_loFOjxBNrRLzqYUf", ts: 1731705121,
                 body: '{"event_type":"ping","data":{"success":true}}', sig: "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=" };

// What each runtime runs: a cron job created against the fake API and the test vector verified
// with Web Crypto. `sdk` is the module namespace (or the CommonJS exports).
const SCENARIO = `
async function scenario(sdk, baseUrl) {
  const client = new sdk.InfraiClient({ apiKey: ${JSON.stringify(KEY)}, baseUrl });
  const job = await client.job.cron.create({ schedule: "0 9 * * *", queue: "q" });
  const v = ${JSON.stringify(VECTOR)};
  const headers = { "webhook-id": v.id, "webhook-timestamp": String(v.ts), "webhook-signature": v.sig };
  const event = await sdk.verifyWebhookAsync(v.body, headers, v.secret, { now: () => v.ts });
  let syncError = "none";
  try { sdk.verifyWebhook(v.body, headers, v.secret, { now: () => v.ts }); } catch (e) { syncError = e.code; }
  return JSON.stringify({ cron_id: job.cron_id, ping: event.event_type, syncError });
}`;

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

describe("runtimes", () => {
  let fake;
  before(async () => { fake = await startFake(); fake.fallback = [201, { cron_id: "cron_1" }, {}]; });
  after(async () => { await fake.close(); });

  for (const [kind, load] of [["ESM", `const sdk = await import(${JSON.stringify(ROOT + "dist/index.js")});`],
                              ["CommonJS", `const sdk = require(${JSON.stringify(ROOT + "dist/cjs/index.js")});`]]) {
    it(`loads and works with no node: module available (${kind})`, async () => {
      const script = join(mkdtempSync(join(tmpdir(), "infrai-sdk-")), "scenario.cjs");
      writeFileSync(script, `${SCENARIO}\n(async () => { ${load} console.log(await scenario(sdk, ${JSON.stringify(fake.url)})); })()`
        + `.catch((e) => { console.error(e); process.exitCode = 1; });`);
      // asynchronously: the fake API runs in this process
      const { stdout: out } = await promisify(execFile)(process.execPath, ["--require", BLOCKER, script], { encoding: "utf8" });
      // verifyWebhook (sync) needs node:crypto; without it, it says to use verifyWebhookAsync
      assert.deepEqual(JSON.parse(out), { cron_id: "cron_1", ping: "ping", syncError: "runtime_unsupported" });
    });
  }

  it("the blocker really blocks", () => {
    const script = join(mkdtempSync(join(tmpdir(), "infrai-sdk-")), "fs.cjs");
    writeFileSync(script, "require('node:fs');");
    assert.throws(() => execFileSync(process.execPath, ["--require", BLOCKER, script], { stdio: "pipe" }),
                  /blocked built-in module: node:fs/);
  });

  it("runs in the Vercel Edge runtime (edge-runtime), bundled for the web platform", async () => {
    const { EdgeRuntime } = await import("edge-runtime");
    const esbuild = await import("esbuild");
    // platform "neutral": the bundle may use no Node built-in, or the build fails
    const built = await esbuild.build({ entryPoints: [ROOT + "dist/index.js"], bundle: true, write: false,
                                        format: "iife", globalName: "infrai", platform: "neutral", logLevel: "silent" });
    const runtime = new EdgeRuntime({ initialCode: built.outputFiles[0].text + SCENARIO });
    assert.equal(runtime.evaluate("typeof require + ' ' + typeof process"), "undefined undefined");
    const out = await runtime.evaluate(`scenario(infrai, ${JSON.stringify(fake.url)})`);
    assert.deepEqual(JSON.parse(out), { cron_id: "cron_1", ping: "ping", syncError: "runtime_unsupported" });
  });

  it("loads with require() and with import, the same API", async () => {
    const cjs = require("@infrai/sdk");
    const esm = await import("@infrai/sdk");
    assert.deepEqual(Object.keys(cjs).filter((k) => k !== "default").sort(), Object.keys(esm).filter((k) => k !== "default").sort());
    assert.equal(typeof cjs.InfraiClient, "function");
  });
});

describe("connection failures say what failed and how to fix it", () => {
  it("connection refused", async () => {
    const port = await freePort();
    const c = new InfraiClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}`, credentialsFile: null, maxRetries: 1,
                                 sleep: async () => {} });
    await assert.rejects(c.job.cron.list(), (e) => {
      assert.ok(e instanceof ConnectionFailed, e);
      assert.match(e.message, /^scheduling\.cron\.list: could not reach the infrai API at http:\/\/127\.0\.0\.1:\d+: connection refused: nothing listens there \(ECONNREFUSED\) \(after 2 attempts\)\. Start the local stack with `make run`/);
      assert.doesNotMatch(e.message, /TypeError/);
      return true;
    });
  });

  it("a base URL that is not a URL", async () => {
    const c = new InfraiClient({ apiKey: KEY, baseUrl: "127.0.0.1:8000", credentialsFile: null });
    await assert.rejects(c.job.cron.list(), /The base URL '127.0.0.1:8000' is not a URL; set INFRAI_BASE_URL/);
  });

  it("an answer that is not JSON", async () => {
    const server = createHttpServer((req, res) => { res.writeHead(200, { "Content-Type": "text/html" }); res.end("<html>hello</html>"); });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const c = new InfraiClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${server.address().port}`, credentialsFile: null });
      await assert.rejects(c.job.cron.list(), /answered 200 with something that is not JSON .*is INFRAI_BASE_URL the infrai API\?/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
