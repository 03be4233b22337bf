/** The project and its keys: `client.auth`. */
import { Api, pick, type Caller } from "./resource.js";
import type {
  Activation, ApiKeyList, AuditOptions, AuditPage, Expunge, IdempotencyOptions, KeyOptions, Me, NewApiKey,
  ProjectSettings, ProjectSettingsUpdate, RevokedKey,
} from "./types.js";

/** What activate() needs besides calls: to make the new key the one used from now on. */
export interface KeyHolder extends Caller {
  useKey(apiKey: string): void;
}

/** client.auth */
export class AuthApi extends Api<KeyHolder> {
  /** A new anonymous trial project (on the local stack: the stack's own project); this client
   *  uses its key from now on. */
  async activate(): Promise<Activation> {
    const result = await this.client.call<Activation>("auth.activate", { body: {} });
    this.client.useKey(result.api_key);
    return result;
  }
  me(): Promise<Me> {
    return this.client.call("auth.me");
  }
  /** Change the project's settings, e.g. `{ retention_days: { succeeded: 7 } }` or
   *  `{ signatures: ["v1", "v1a"] }`; answers with all of them. */
  updateProject(settings: ProjectSettingsUpdate): Promise<ProjectSettings> {
    return this.client.call("auth.project.update", { body: pick({ retention_days: settings.retention_days, signatures: settings.signatures }) });
  }
  /** Delete everything of the project, its keys included, in the background; `confirm` is the
   *  project's id. This key then reads only expungeStatus() (until 30 days after the end). */
  expungeProject(confirm: string, opts: IdempotencyOptions = {}): Promise<Expunge> {
    return this.client.call("auth.project.expunge", { body: { confirm }, idempotencyKey: opts.idempotency_key });
  }
  expungeStatus(): Promise<Expunge> {
    return this.client.call("auth.project.expunge_status");
  }
  /** A new key, shown once: `scopes` (default ["admin"], which holds them all), `queues` (the only
   *  queues it may publish to; needs "publish"), `name`. A key's scopes never change. */
  createKey(opts: KeyOptions = {}): Promise<NewApiKey> {
    const { idempotency_key, ...grant } = opts;
    return this.client.call("auth.keys.create", { body: pick(grant), idempotencyKey: idempotency_key });
  }
  /** Every key of the project (shortened, never the key itself) with its scopes and queues. */
  listKeys(): Promise<ApiKeyList> {
    return this.client.call("auth.keys.list");
  }
  /** The audit log, newest first: who changed the project's configuration, when, from where. */
  audit(opts: AuditOptions = {}): Promise<AuditPage> {
    return this.client.call("auth.audit.list", { query: { ...opts } });
  }
  revokeKey(keyId: string): Promise<RevokedKey> {
    return this.client.call("auth.keys.revoke", { params: { key_id: keyId } });
  }
}
