import { QfleetError } from "../errors.js";
import { METRICS, type Metric } from "./types.js";

/**
 * Limits of a monitoring request, shared by the CLI and the MCP tool. A tool call must end,
 * so a tool may ask for at most MONITOR_MAX_COUNT samples and never for 0 ("until stopped");
 * the CLI allows 0 (until Ctrl-C).
 */
export const MONITOR_MIN_INTERVAL_S = 1;
export const MONITOR_MAX_INTERVAL_S = 3600;
export const MONITOR_DEFAULT_INTERVAL_S = 5;
export const MONITOR_DEFAULT_COUNT = 1;
export const MONITOR_MAX_COUNT = 60;

export interface MonitorArgs {
  metrics: Metric[];
  intervalMs: number;
  /** 0: until cancelled (CLI only). */
  count: number;
}

/** "cpu,memory", ["cpu","disk"], "all" or undefined (all) -> the metrics, in canonical order. */
export function parseMetrics(input?: string | readonly string[]): Metric[] {
  const words = (typeof input === "string" ? input.split(",") : (input ?? [])).map((w) => w.trim().toLowerCase()).filter(Boolean);
  if (words.length === 0 || words.includes("all")) return [...METRICS];
  const unknown = words.filter((w) => !(METRICS as readonly string[]).includes(w));
  if (unknown.length)
    throw new QfleetError("BAD_INPUT", `unknown metric ${unknown.map((u) => `'${u}'`).join(", ")}`, {
      hint: `choose from ${METRICS.join(", ")} or all`,
    });
  return METRICS.filter((m) => words.includes(m));
}

/**
 * Checks and normalises a request. `bounded` (MCP tools): count must be 1..MONITOR_MAX_COUNT.
 * Throws BAD_INPUT with the limit in the message.
 */
export function validateMonitorArgs(
  input: { metrics?: string | readonly string[]; interval?: number | string; count?: number | string },
  opts: { bounded: boolean },
): MonitorArgs {
  const interval = input.interval === undefined ? MONITOR_DEFAULT_INTERVAL_S : Number(input.interval);
  if (!Number.isFinite(interval) || interval < MONITOR_MIN_INTERVAL_S || interval > MONITOR_MAX_INTERVAL_S)
    throw new QfleetError("BAD_INPUT", `interval must be ${MONITOR_MIN_INTERVAL_S} to ${MONITOR_MAX_INTERVAL_S} seconds, not ${input.interval}`);
  const count = input.count === undefined ? MONITOR_DEFAULT_COUNT : Number(input.count);
  if (!Number.isInteger(count) || count < 0) throw new QfleetError("BAD_INPUT", `count must be a whole number of samples, not ${input.count}`);
  if (opts.bounded && count === 0)
    throw new QfleetError("BAD_INPUT", `count 0 (sample until stopped) cannot work inside one tool call, which must end`, {
      hint: `ask for 1 to ${MONITOR_MAX_COUNT} samples, and call again for more`,
    });
  if (opts.bounded && count > MONITOR_MAX_COUNT)
    throw new QfleetError("BAD_INPUT", `count must be at most ${MONITOR_MAX_COUNT} in one tool call, not ${count}`, {
      hint: "call again for more samples, or use a longer interval",
    });
  return { metrics: parseMetrics(input.metrics), intervalMs: Math.round(interval * 1000), count };
}
