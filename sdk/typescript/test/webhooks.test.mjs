import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { WebhookVerificationError, signWebhook, verifyWebhook } from "../dist/index.js";

const SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl";
const MSG_ID = "msg_loFOjxBNrRLzqYUf";
const TS = 1731705121;
const BODY = '{"event_type":"ping","data":{"success":true}}';
const SIG = "v1,rAvfW3dJ/X/qxhsaXPOyyCGmRKsaKWcsNccKXlIktD0=";
const headers = (sig = SIG, ts = TS, id = MSG_ID) => ({ "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sig });
const at = (t) => ({ now: () => t });

describe("verifyWebhook", () => {
  it("matches the Standard Webhooks test vector", () => {
    assert.equal(signWebhook(SECRET, MSG_ID, TS, BODY), SIG);
    assert.deepEqual(verifyWebhook(BODY, headers(), SECRET, at(TS)), { event_type: "ping", data: { success: true } });
    assert.ok(verifyWebhook(Buffer.from(BODY), new Headers(headers()), SECRET, at(TS + 10)));
  });

  it("accepts rotated multi-signature headers", () => {
    const other = signWebhook("whsec_" + "QUJD".repeat(8), MSG_ID, TS, BODY);
    assert.ok(verifyWebhook(BODY, headers(`${other} ${SIG}`), SECRET, at(TS)));
    assert.throws(() => verifyWebhook(BODY, headers(other), SECRET, at(TS)), /No matching signature/);
  });

  it("has a five-minute tolerance", () => {
    for (const offset of [0, 299, -299]) assert.ok(verifyWebhook(BODY, headers(), SECRET, at(TS + offset)));
    assert.throws(() => verifyWebhook(BODY, headers(), SECRET, at(TS + 301)), /too old/);
    assert.throws(() => verifyWebhook(BODY, headers(), SECRET, at(TS - 301)), /too new/);
  });

  it("explains tampering and bad input", () => {
    assert.throws(() => verifyWebhook(BODY.replace("true", "false"), headers(), SECRET, at(TS)),
      (e) => e instanceof WebhookVerificationError && /No matching signature/.test(e.message));
    assert.throws(() => verifyWebhook(BODY, { "webhook-id": MSG_ID }, SECRET, at(TS)), /Missing header/);
    assert.throws(() => verifyWebhook(BODY, headers(SIG, "soon"), SECRET, at(TS)), /Unix time/);
    assert.throws(() => verifyWebhook(BODY, headers(), "whsec_not*base64", at(TS)), /whsec_/);
  });
});
