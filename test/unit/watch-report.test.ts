import { describe, expect, it } from "vitest";
import type { Action, Plan } from "../../src/plan/types.js";
import type { SpecIssue } from "../../src/spec/load.js";
import { WatchReporter, type WatchEvent } from "../../src/watch/report.js";

const plan = (...actions: Partial<Action>[]): Plan => ({
  actions: actions.map((a) => ({ vm: "a", host: "local", kind: "noop", reason: "running, as the spec says", changes: [], ...a })),
  summary: {},
});
const issue: SpecIssue = { file: "vms/a.yaml", line: 3, col: 9, field: "memory", message: "expected a size" };

describe("WatchReporter", () => {
  const make = () => {
    const events: WatchEvent[] = [];
    return { r: new WatchReporter((e) => events.push(e)), events, kinds: () => events.map((e) => e.event) };
  };

  it("reports a file's problems once, located, and says when they are gone", () => {
    const { r, events, kinds } = make();
    r.planned(plan({ kind: "unknown", reason: "its spec is invalid: left exactly as it is" }), [issue], ["a"]);
    r.planned(plan({ kind: "unknown", reason: "its spec is invalid: left exactly as it is" }), [issue], "all"); // a resync: quiet
    expect(kinds()).toEqual(["problem", "unknown"]);
    expect(events[0].message).toBe("vms/a.yaml:3:9: memory: expected a size");
    expect(events[0].issue).toEqual(issue);
    r.planned(plan({ kind: "noop" }), [], "all");
    expect(kinds()).toEqual(["problem", "unknown", "valid"]);
  });

  it("reports an orphan once per reason, and 'in sync' only for the VMs a save asked about", () => {
    const { r, events, kinds } = make();
    const orphan = { kind: "orphan" as const, reason: "no spec in vms/: kept (delete it with --prune)" };
    r.planned(plan(orphan), [], ["a"]);
    r.planned(plan(orphan), [], "all");
    expect(kinds()).toEqual(["orphan"]);
    expect(events[0].message).toBe("? orphan a: no spec in vms/: kept (delete it with --prune)");
    r.planned(plan({ kind: "noop" }), [], "all");
    r.planned(plan({ kind: "noop" }), [], ["a"]);
    expect(kinds()).toEqual(["orphan", "in-sync"]);
    r.planned(plan(orphan), [], "all"); // an orphan again later is news again
    expect(kinds()).toEqual(["orphan", "in-sync", "orphan"]);
  });
});
