import { writeFileSync } from "node:fs";
import path from "node:path";
import { benchFleet, interleaved, ratioText, type Row } from "./lib.js";

/**
 * `qfleet validate` of a fleet holding one 20,000-key spec, against the same fleet with a
 * normal spec instead, interleaved. The goal is that one odd file costs linear time: a
 * ratio near what the extra bytes cost to read, not the quadratic 10 s of before.
 */
export async function validateLarge(): Promise<Row> {
  const normal = benchFleet();
  const large = benchFleet();
  try {
    for (const f of [normal, large]) writeFileSync(path.join(f.dir, "vms", "ok.yaml"), "vcpus: 1\nmemory: 16M\n");
    writeFileSync(path.join(normal.dir, "vms", "x.yaml"), "vcpus: 2\nmemory: 1G\n");
    const keys = Array.from({ length: 20_000 }, (_, i) => `unknown_key_${i}: ${i}`).join("\n");
    writeFileSync(path.join(large.dir, "vms", "x.yaml"), `memory: 1G\n${keys}\n`);
    const p = await interleaved(
      5,
      () => normal.cli(["validate"]),
      () => large.cli(["validate"], { allowExit: [3] }),
    );
    return {
      name: "validate a 20,000-key spec",
      value: `${Math.round(p.value)} ms`,
      baseline: `a normal spec ${Math.round(p.base)} ms`,
      ratio: ratioText(p),
      goal: "< 5x (linear, bounded output)",
      ok: p.ratio < 5,
    };
  } finally {
    normal.cleanup();
    large.cleanup();
  }
}
