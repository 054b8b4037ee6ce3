import { report, type Row } from "./lib.js";
import { noopReconcile, nodeStart, plan1000, start20 } from "./reconcile.js";

/**
 * `npm run bench`: prints each figure beside a baseline measured in the same run (these
 * machines are shared and noisy, so ratios say more than absolute numbers). Not a test: it
 * reports and exits 0; a missed goal is marked MISSED.
 */
const base = await nodeStart();
const rows: Row[] = [];
for (const b of [() => noopReconcile(base), () => start20(), () => plan1000(base)]) {
  rows.push(await b());
  process.stderr.write(`${rows.at(-1)!.name}: ${rows.at(-1)!.value}\n`);
}
report(rows);
