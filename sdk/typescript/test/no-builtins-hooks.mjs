// ESM half of no-builtins.cjs: imports of built-ins fail to resolve.
import { builtinModules } from "node:module";

const builtins = new Set(builtinModules);
export async function resolve(specifier, context, next) {
  if (specifier.startsWith("node:") || builtins.has(specifier)) throw new Error(`blocked built-in module: ${specifier}`);
  return next(specifier, context);
}
