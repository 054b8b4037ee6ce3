import { describe, expect, it } from "vitest";
import { MONITOR_MAX_COUNT, parseMetrics, validateMonitorArgs } from "../../src/monitor/args.js";

describe("monitor arguments", () => {
  it("parses metric lists in canonical order; all or nothing means every metric", () => {
    expect(parseMetrics("network, CPU")).toEqual(["cpu", "network"]);
    expect(parseMetrics(["disk"])).toEqual(["disk"]);
    expect(parseMetrics("all")).toEqual(["cpu", "memory", "disk", "network"]);
    expect(parseMetrics(undefined)).toEqual(["cpu", "memory", "disk", "network"]);
    expect(() => parseMetrics("cpu,io")).toThrow(/unknown metric 'io'/);
  });

  it("defaults to every 5 s, one sample", () => {
    expect(validateMonitorArgs({}, { bounded: true })).toEqual({ metrics: ["cpu", "memory", "disk", "network"], intervalMs: 5000, count: 1 });
  });

  it("needs an interval of at least 1 s and a whole count", () => {
    expect(validateMonitorArgs({ interval: "1.5", count: "3" }, { bounded: false })).toMatchObject({ intervalMs: 1500, count: 3 });
    expect(() => validateMonitorArgs({ interval: 0.5 }, { bounded: false })).toThrow(/interval must be 1 to 3600 seconds/);
    expect(() => validateMonitorArgs({ interval: "x" }, { bounded: false })).toThrow(/interval/);
    expect(() => validateMonitorArgs({ count: -1 }, { bounded: false })).toThrow(/count must be a whole number/);
    expect(() => validateMonitorArgs({ count: 1.5 }, { bounded: false })).toThrow(/count must be a whole number/);
  });

  it("allows count 0 (until Ctrl-C) on the CLI, but a tool call must be bounded", () => {
    expect(validateMonitorArgs({ count: 0 }, { bounded: false }).count).toBe(0);
    expect(() => validateMonitorArgs({ count: 0 }, { bounded: true })).toThrow(/cannot work inside one tool call/);
    expect(validateMonitorArgs({ count: MONITOR_MAX_COUNT }, { bounded: true }).count).toBe(MONITOR_MAX_COUNT);
    expect(() => validateMonitorArgs({ count: MONITOR_MAX_COUNT + 1 }, { bounded: true })).toThrow(`at most ${MONITOR_MAX_COUNT}`);
  });
});
