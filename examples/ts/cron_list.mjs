// scheduling.cron.list — see ROUTES["scheduling.cron.list"]
import { InfraiClient } from "../../sdk/typescript/dist/index.js"; // in your project: from "@infrai/sdk"

const client = new InfraiClient({ apiKey: process.env.INFRAI_API_KEY });
for (const j of (await client.job.cron.list()).items) {
  console.log(j.cron_id, j.schedule, "next:", j.next_run_at);
}
