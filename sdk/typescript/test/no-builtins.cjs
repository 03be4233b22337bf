// Preloaded with `node --require`: a runtime without Node's built-in modules, like Cloudflare
// Workers or Vercel Edge. Every later require() or import of a built-in (node:fs, fs, ...) throws,
// and process.getBuiltinModule is gone, so the SDK must load and work on web APIs alone.
const Module = require("node:module");
const { register } = require("node:module");
const { pathToFileURL } = require("node:url");
const { isMainThread } = require("node:worker_threads");

if (isMainThread) block();   // the loader-hooks thread preloads this file too: leave it alone

function block() {

  const builtins = new Set(Module.builtinModules);
  const blocked = (name) => name.startsWith("node:") || builtins.has(name);
  register(pathToFileURL(__dirname + "/no-builtins-hooks.mjs"));
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (blocked(request)) throw new Error(`blocked built-in module: ${request}`);
    return load.call(this, request, ...rest);
  };
  delete process.getBuiltinModule;
}
