/** Every operation of the API: the spec's operationId -> method and path.
 *  tests/contract checks this table against chalicelib/openapi.json; every call goes through it. */
export const ROUTES = {
  "health.get": { method: "GET", path: "/v1/health" },
  "openapi.get": { method: "GET", path: "/v1/openapi.json" },
  "auth.activate": { method: "POST", path: "/v1/auth/activate" },
  "auth.me": { method: "GET", path: "/v1/auth/me" },
  "auth.project.update": { method: "PATCH", path: "/v1/auth/project" },
  "auth.project.expunge": { method: "POST", path: "/v1/auth/project/expunge" },
  "auth.project.expunge_status": { method: "GET", path: "/v1/auth/project/expunge" },
  "auth.keys.create": { method: "POST", path: "/v1/auth/keys" },
  "auth.keys.revoke": { method: "DELETE", path: "/v1/auth/keys/{key_id}" },
  "scheduling.cron.create": { method: "POST", path: "/v1/scheduling/cron" },
  "scheduling.cron.list": { method: "GET", path: "/v1/scheduling/cron" },
  "scheduling.cron.get": { method: "GET", path: "/v1/scheduling/cron/{cron_id}" },
  "scheduling.cron.update": { method: "PATCH", path: "/v1/scheduling/cron/{cron_id}" },
  "scheduling.cron.delete": { method: "DELETE", path: "/v1/scheduling/cron/{cron_id}" },
  "scheduling.cron.pause": { method: "POST", path: "/v1/scheduling/cron/{cron_id}/pause" },
  "scheduling.cron.resume": { method: "POST", path: "/v1/scheduling/cron/{cron_id}/resume" },
  "scheduling.cron.trigger": { method: "POST", path: "/v1/scheduling/cron/{cron_id}/trigger" },
  "scheduling.cron.backfill": { method: "POST", path: "/v1/scheduling/cron/{cron_id}/backfill" },
  "scheduling.cron.runs": { method: "GET", path: "/v1/scheduling/cron/{cron_id}/runs" },
  "scheduling.queue.publish": { method: "POST", path: "/v1/scheduling/queue/publish" },
  "scheduling.queue.publish_batch": { method: "POST", path: "/v1/scheduling/queue/publish-batch" },
  "scheduling.queue.list": { method: "GET", path: "/v1/scheduling/queue" },
  "scheduling.queue.put": { method: "PUT", path: "/v1/scheduling/queue/{name}" },
  "scheduling.queue.get": { method: "GET", path: "/v1/scheduling/queue/{name}" },
  "scheduling.queue.delete": { method: "DELETE", path: "/v1/scheduling/queue/{name}" },
  "scheduling.queue.messages": { method: "GET", path: "/v1/scheduling/queue/{name}/messages" },
  "scheduling.queue.message": { method: "GET", path: "/v1/scheduling/queue/messages/{message_id}" },
  "scheduling.queue.cancel": { method: "POST", path: "/v1/scheduling/queue/messages/{message_id}/cancel" },
  "scheduling.queue.retry": { method: "POST", path: "/v1/scheduling/queue/messages/{message_id}/retry" },
  "scheduling.webhook.send": { method: "POST", path: "/v1/scheduling/webhook/send" },
  "scheduling.webhook.list": { method: "GET", path: "/v1/scheduling/webhook/deliveries" },
  "scheduling.webhook.get": { method: "GET", path: "/v1/scheduling/webhook/deliveries/{delivery_id}" },
  "scheduling.webhook.retry": { method: "POST", path: "/v1/scheduling/webhook/deliveries/{delivery_id}/retry" },
  "scheduling.webhook.secret": { method: "GET", path: "/v1/scheduling/webhook/secret" },
  "scheduling.webhook.rotate_secret": { method: "POST", path: "/v1/scheduling/webhook/secret/rotate" },
  "scheduling.deliveries.list": { method: "GET", path: "/v1/scheduling/deliveries" },
  "scheduling.deliveries.replay": { method: "POST", path: "/v1/scheduling/deliveries/replay" },
  "scheduling.replays.get": { method: "GET", path: "/v1/scheduling/replays/{replay_id}" },
  "scheduling.endpoints.list": { method: "GET", path: "/v1/scheduling/endpoints" },
  "scheduling.endpoints.release": { method: "POST", path: "/v1/scheduling/endpoints/{endpoint_id}/release" },
  "scheduling.flows.list": { method: "GET", path: "/v1/scheduling/flows" },
  "scheduling.flows.put": { method: "PUT", path: "/v1/scheduling/flows/{key}" },
  "scheduling.flows.get": { method: "GET", path: "/v1/scheduling/flows/{key}" },
  "scheduling.flows.delete": { method: "DELETE", path: "/v1/scheduling/flows/{key}" },
  "scheduling.events.put": { method: "PUT", path: "/v1/scheduling/events" },
  "scheduling.events.get": { method: "GET", path: "/v1/scheduling/events" },
  "scheduling.events.delete": { method: "DELETE", path: "/v1/scheduling/events" },
} as const;

export type OperationId = keyof typeof ROUTES;
export type HttpMethod = (typeof ROUTES)[OperationId]["method"];

/** Operations that need no API key. */
export const PUBLIC_OPERATIONS: ReadonlySet<OperationId> = new Set<OperationId>([
  "health.get", "openapi.get", "auth.activate",
]);
