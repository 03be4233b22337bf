export { InfraiClient, CronApi, QueueApi, WebhookApi, AuthApi, DeliveriesApi, FlowsApi, EndpointsApi, EventsApi, DEFAULT_BASE_URL, VERSION, defaultName } from "./client.js";
export type { ClientOptions } from "./client.js";
export { ROUTES, PUBLIC_OPERATIONS } from "./routes.js";
export type { OperationId, HttpMethod } from "./routes.js";
export * from "./errors.js";
export { verifyWebhook, verifyWebhookAsync, signWebhook, signWebhookAsync, TOLERANCE_SECONDS } from "./webhooks.js";
export type { VerifyOptions, HeaderBag } from "./webhooks.js";
export type * from "./types.js";
