/** Records as the API returns them (snake_case, as on the wire) and the options the methods take,
 * one file per resource under types/. */
export type * from "./types/common.js";
export type * from "./types/cron.js";
export type * from "./types/deliveries.js";
export type * from "./types/endpoints.js";
export type * from "./types/queues.js";
export type * from "./types/events.js";
export type * from "./types/auth.js";
export type * from "./types/topics.js";
