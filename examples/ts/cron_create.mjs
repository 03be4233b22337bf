// scheduling.cron.create — run with: node examples/ts/cron_create.mjs (after `npm run build` in sdk/typescript)
import { InfraiClient } from "../../sdk/typescript/dist/index.js"; // in your project: from "@infrai/sdk"

const client = new InfraiClient({ apiKey: process.env.INFRAI_API_KEY });
const job = await client.job.cron.create({
  schedule: "0 9 * * *", // every day at 09:00
  queue: "send-daily-digest",
  name: "daily-digest",
  timezone: "UTC",
  payload: { segment: "active-users" },
});
console.log("cron_id:", job.cron_id);
