// A fake infrai API on 127.0.0.1: scripted answers, every request recorded.
import { createServer } from "node:http";

export async function startFake() {
  const fake = { requests: [], script: [], fallback: [200, { ok: true }, {}] };
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      fake.requests.push({ method: req.method, path: req.url, headers: req.headers, body: raw ? JSON.parse(raw) : null });
      const [status, body, headers] = fake.script.length ? fake.script.shift() : fake.fallback;
      const data = body === undefined || body === null ? "" : JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", ...(headers ?? {}) });
      res.end(data);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.answer = (status, body, headers) => { fake.script.push([status, body, headers]); return fake; };
  fake.close = () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); });
  return fake;
}
