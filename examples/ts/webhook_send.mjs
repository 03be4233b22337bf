// scheduling.webhook.send — see ROUTES["scheduling.webhook.send"]
import { InfraiClient } from "../../sdk/typescript/dist/index.js"; // in your project: from "@infrai/sdk"

const client = new InfraiClient({ apiKey: process.env.INFRAI_API_KEY });
const d = await client.job.webhook.send("https://api.example.com/hooks/order", { order_id: "ord_42", status: "paid" });
console.log("delivery:", d.delivery_id, "| state:", d.state);
