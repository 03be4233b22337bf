import assert from "node:assert/strict";
import { generateKeyPairSync, sign as edSign } from "node:crypto";
import { describe, it } from "node:test";

import { WebhookVerificationError, signWebhook, verifyWebhook, verifyWebhookAsync } from "../dist/index.js";

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

// v1a: Ed25519 with a whpk_ public key. The test signs with node:crypto's own key pair; the SDK
// is handed only the public key, as whpk_ + base64 of its 32 raw bytes.
function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url");
  const signV1a = (id = MSG_ID, ts = TS, body = BODY) =>
    `v1a,${edSign(null, Buffer.from(`${id}.${ts}.${body}`), privateKey).toString("base64")}`;
  return { whpk: `whpk_${raw.toString("base64")}`, signV1a };
}

describe("verifyWebhook with v1a", () => {
  it("verifies with the public key alone, sync and async, also beside a v1 signature", async () => {
    const { whpk, signV1a } = keyPair();
    assert.deepEqual(verifyWebhook(BODY, headers(signV1a()), whpk, at(TS)), { event_type: "ping", data: { success: true } });
    assert.ok(verifyWebhook(BODY, headers(`${SIG} ${signV1a()}`), whpk, at(TS)));
    assert.ok(verifyWebhook(BODY, headers(`${SIG} ${signV1a()}`), SECRET, at(TS)));
    assert.ok(await verifyWebhookAsync(BODY, headers(`${SIG} ${signV1a()}`), whpk, at(TS)));
    assert.ok(await verifyWebhookAsync(Buffer.from(BODY), headers(signV1a()), [SECRET, whpk], at(TS)));
    assert.throws(() => verifyWebhook(BODY.replace("true", "false"), headers(signV1a()), whpk, at(TS)), /No matching signature/);
    await assert.rejects(verifyWebhookAsync(BODY, headers(signV1a("msg_other")), whpk, at(TS)), /No matching signature/);
  });

  it("accepts any listed key around a rotation, and no stranger's", () => {
    const oldKey = keyPair(), newKey = keyPair(), stranger = keyPair();
    const both = headers(`${SIG} ${newKey.signV1a()} ${oldKey.signV1a()}`);
    assert.ok(verifyWebhook(BODY, both, oldKey.whpk, at(TS)) && verifyWebhook(BODY, both, newKey.whpk, at(TS)));
    assert.ok(verifyWebhook(BODY, headers(newKey.signV1a()), [oldKey.whpk, newKey.whpk], at(TS)));
    assert.throws(() => verifyWebhook(BODY, both, stranger.whpk, at(TS)), /No matching signature/);
  });

  it("explains a scheme the delivery does not carry and a malformed key", () => {
    const { whpk, signV1a } = keyPair();
    assert.throws(() => verifyWebhook(BODY, headers(SIG), whpk, at(TS)), /signs with v1 only/);
    assert.throws(() => verifyWebhook(BODY, headers(signV1a()), SECRET, at(TS)), /v1a only/);
    assert.throws(() => verifyWebhook(BODY, headers(signV1a()), "whpk_c2hvcnQ=", at(TS)), /whpk_<base64 of 32 bytes>/);
    assert.throws(() => verifyWebhook(BODY, headers("v1a,not*base64"), whpk, at(TS)), /No matching signature/);
    assert.throws(() => verifyWebhook(BODY, headers(signV1a()), whpk, at(TS + 301)), /too old/);
  });
});
