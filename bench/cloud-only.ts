import { cloudReady } from "./cloud.js";
import { report } from "./lib.js";

/** `npx tsx bench/cloud-only.ts`: only the cloud-image readiness figure (about 8 minutes). */
report([await cloudReady()]);
