// scheduling.queue.publish — see ROUTES["scheduling.queue.publish"]
import { InfraiClient } from "../../sdk/typescript/dist/index.js"; // in your project: from "@infrai/sdk"

const client = new InfraiClient({ apiKey: process.env.INFRAI_API_KEY });
const msg = await client.job.queue.publish(
  "send-daily-digest",
  { user_id: "u_123", kind: "manual-trigger" },
  { delay_seconds: 0 },
);
console.log("message_id:", msg.message_id);
