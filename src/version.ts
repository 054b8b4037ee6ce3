import { createRequire } from "node:module";

/** Set by the bundler (scripts/bundle.mjs) to package.json's version; unset when running the tsc build. */
declare const QFLEET_VERSION: string | undefined;

/** qemu-fleet's version: inlined in the bundle, read from package.json (two folders up from dist/<folder>/) otherwise. */
export const VERSION: string =
  typeof QFLEET_VERSION === "string" ? QFLEET_VERSION : (createRequire(import.meta.url)("../package.json") as { version: string }).version;
