#!/usr/bin/env node
// Bundles the CLI into dist/qfleet.mjs (+ dist/chunks/): one file to load instead of ~180
// modules, so every command starts faster (measured by `npm run bench`). Commands stay lazy:
// each is a chunk loaded only when it runs. ssh2 stays external (its optional native module
// cannot be bundled); it is a runtime dependency and is loaded only for remote hosts.
import { build } from "esbuild";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
await build({
  entryPoints: { qfleet: path.join(root, "src/cli/main.ts") },
  outdir: path.join(root, "dist"),
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  external: ["ssh2", "cpu-features"],
  define: { QFLEET_VERSION: JSON.stringify(version) },
  // bundled CommonJS code may call require(): give it one
  banner: { js: "import { createRequire as __qfleetRequire } from 'node:module'; const require = __qfleetRequire(import.meta.url);" },
  logLevel: "warning",
});
