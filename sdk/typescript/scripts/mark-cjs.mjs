// dist/cjs holds the CommonJS build (and its .d.ts, read as CommonJS types): a package.json
// there tells Node and TypeScript so, since the package itself is "type": "module".
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), JSON.stringify({ type: "commonjs" }) + "\n");
