import { report, type Row } from "./lib.js";
import { mcpBench } from "./mcp.js";
import { monitorCpu } from "./monitor.js";
import { fastAnswers } from "./fast.js";
import { planScaling, start20 } from "./reconcile.js";
import { remoteBench } from "./remote.js";
import { validateLarge } from "./validate.js";
import { cloudReady } from "./cloud.js";
import { watchLatency } from "./watch.js";

/**
 * `npm run bench`: prints each figure beside a baseline measured in the same run (these
 * machines are shared and noisy, so ratios say more than absolute numbers). Not a test: it
 * reports and exits 0; a missed goal is marked MISSED.
 */
const rows: Row[] = [];
const benches: (() => Promise<Row | Row[]>)[] = [
  () => fastAnswers(),
  () => start20(),
  () => planScaling(),
  () => validateLarge(),
  () => mcpBench(),
  () => monitorCpu(),
  () => watchLatency(),
  () => remoteBench(),
  () => cloudReady(), // about 8 minutes: ten boots of a real cloud image under TCG
];
for (const b of benches) {
  for (const row of [await b()].flat()) {
    rows.push(row);
    process.stderr.write(`${row.name}: ${row.value}\n`);
  }
}
report(rows);
