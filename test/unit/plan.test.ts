import { describe, expect, it } from "vitest";
import { planChanges, type PlanOptions } from "../../src/plan/diff.js";
import { renderPlan } from "../../src/plan/render.js";
import type { DesiredVm } from "../../src/plan/types.js";
import type { ResolvedVm } from "../../src/spec/defaults.js";
import type { ActualVm, HostState } from "../../src/state/types.js";

const G = 2 ** 30;
const vm = (name: string, over: Partial<ResolvedVm> = {}): ResolvedVm => ({
  name,
  host: "local",
  arch: "x86_64",
  vcpus: 2,
  memory: 2 * G,
  state: "running",
  disks: [{ index: 0, path: `/vms/${name}/disk0.qcow2`, format: "qcow2", size: 10 * G, managed: true }],
  firmware: "bios",
  accel: "auto",
  forwards: [],
  protected: false,
  vmDir: "/vms",
  instanceDir: `/vms/${name}`,
  ...over,
});
const want = (v: ResolvedVm): DesiredVm => ({ vm: v, accel: { accel: "tcg", reason: "test" } });
const have = (v: ResolvedVm, over: Partial<ActualVm> = {}): ActualVm => ({
  name: v.name,
  host: "local",
  vmDir: v.vmDir,
  instanceDir: v.instanceDir,
  power: "running",
  pid: 100,
  qmpStatus: "running",
  reasons: [],
  applied: { version: 1, vm: v, hash: "h", argv: [], accel: "tcg", accelReason: "test", createdAt: "", appliedAt: "", owner: SELF },
  ...over,
});
const SELF = { id: "fleet-under-test", dir: "/fleet", machine: "m1" };
const plan = (d: DesiredVm[], h: HostState[], invalid: string[], o: Partial<PlanOptions> = {}) => planChanges(d, h, invalid, { self: SELF, ...o });
const host = (...vms: ActualVm[]): HostState[] => [{ host: "local", vms, unmanaged: [] }];
const kinds = (p: ReturnType<typeof planChanges>) => Object.fromEntries(p.actions.map((a) => [a.vm, a.kind]));

describe("planChanges", () => {
  it("creates what does not exist and leaves what matches", () => {
    const p = plan([want(vm("a")), want(vm("b"))], host(have(vm("b"))), []);
    expect(kinds(p)).toEqual({ a: "create", b: "noop" });
    expect(p.actions[0].finalState).toBe("running");
    expect(p.summary).toEqual({ create: 1, noop: 1 });
  });

  it("starts a stopped VM and stops a running one", () => {
    const stopped = have(vm("a"), { power: "stopped", pid: undefined, qmpStatus: undefined });
    expect(kinds(plan([want(vm("a"))], host(stopped), []))).toEqual({ a: "start" });
    expect(kinds(plan([want(vm("a", { state: "stopped" }))], host(have(vm("a"))), []))).toEqual({ a: "stop" });
  });

  it("a VM killed behind our back (stale pidfile) is a pending start", () => {
    const killed = have(vm("a"), { power: "stopped", pid: undefined, reasons: ["stale pidfile: pid 5 is not this VM's QEMU"] });
    const a = plan([want(vm("a"))], host(killed), []).actions[0];
    expect(a.kind).toBe("start");
    expect(a.reason).toMatch(/not running/);
  });

  it("classifies memory and vcpus as restart, ISO and forwards as live", () => {
    const p1 = plan([want(vm("a", { memory: 4 * G }))], host(have(vm("a"))), []);
    expect(p1.actions[0].kind).toBe("update-restart");
    expect(p1.actions[0].changes).toEqual([{ field: "memory", from: 2 * G, to: 4 * G, class: "restart" }]);
    const p2 = plan([want(vm("a", { iso: "/x.iso", forwards: [{ host: 8080, guest: 80, proto: "tcp" }] }))], host(have(vm("a"))), []);
    expect(p2.actions[0].kind).toBe("update-live");
    expect(p2.actions[0].changes.map((c) => [c.field, c.class])).toEqual([
      ["iso", "live"],
      ["forwards", "live"],
    ]);
  });

  it("grows disks with a restart and refuses to shrink them", () => {
    const grow = vm("a", { disks: [{ ...vm("a").disks[0], size: 20 * G }] });
    expect(plan([want(grow)], host(have(vm("a"))), []).actions[0].kind).toBe("update-restart");
    const shrink = vm("a", { disks: [{ ...vm("a").disks[0], size: 5 * G }] });
    const a = plan([want(shrink)], host(have(vm("a"))), []).actions[0];
    expect(a.kind).toBe("refused");
    expect(a.changes[0]).toMatchObject({ field: "disks.0.size", class: "refused" });
  });

  it("applies changes to a stopped VM offline", () => {
    const stopped = have(vm("a", { state: "stopped" }), { power: "stopped", pid: undefined });
    const a = plan([want(vm("a", { state: "stopped", vcpus: 4 }))], host(stopped), []).actions[0];
    expect(a.kind).toBe("update-offline");
    expect(a.changes[0].class).toBe("offline");
  });

  it("replaces only with allowReplace, never a protected VM", () => {
    const arm = vm("a", { arch: "aarch64" });
    expect(plan([want(arm)], host(have(vm("a"))), []).actions[0].kind).toBe("refused");
    expect(plan([want(arm)], host(have(vm("a"))), [], { allowReplace: true }).actions[0].kind).toBe("replace");
    const prot = have(vm("a", { protected: true }));
    expect(plan([want({ ...arm, protected: true })], host(prot), [], { allowReplace: true }).actions[0].kind).toBe("refused");
  });

  it("deletes on state: absent unless protected", () => {
    expect(kinds(plan([want(vm("a", { state: "absent" }))], host(have(vm("a"))), []))).toEqual({ a: "delete" });
    const prot = have(vm("a", { protected: true }));
    expect(kinds(plan([want(vm("a", { state: "absent", protected: true }))], host(prot), []))).toEqual({ a: "refused" });
    expect(kinds(plan([want(vm("a", { state: "absent" }))], host(), []))).toEqual({ a: "noop" });
  });

  it("keeps orphans without --prune, deletes them with it, never protected ones", () => {
    expect(kinds(plan([], host(have(vm("o"))), []))).toEqual({ o: "orphan" });
    expect(kinds(plan([], host(have(vm("o"))), [], { prune: true }))).toEqual({ o: "delete" });
    expect(kinds(plan([], host(have(vm("o", { protected: true }))), [], { prune: true }))).toEqual({ o: "refused" });
  });

  it("never touches a VM whose spec is invalid, even with --prune", () => {
    expect(kinds(plan([], host(have(vm("bad"))), ["bad"], { prune: true }))).toEqual({ bad: "unknown" });
  });

  it("reports VMs on an uninspectable host as unknown, not created", () => {
    const p = plan([want(vm("r", { host: "lab" }))], [{ host: "lab", vms: [], unmanaged: [], error: "unreachable" }], []);
    expect(kinds(p)).toEqual({ r: "unknown" });
  });

  it("restricts to --only names", () => {
    const p = plan([want(vm("a")), want(vm("b"))], host(have(vm("x"))), [], { only: ["b"] });
    expect(kinds(p)).toEqual({ b: "create" });
  });

  it("renders a Terraform-like plan with old -> new values and a summary", () => {
    const p = plan([want(vm("a", { memory: 4 * G })), want(vm("n"))], host(have(vm("a"))), []);
    const text = renderPlan(p);
    expect(text).toContain("~ update (restart) a: these changes need a restart");
    expect(text).toContain("~ memory: 2.0 GB -> 4.0 GB  [restart]");
    expect(text).toContain("+ create n: no instance yet");
    expect(text.split("\n").at(-1)).toBe("Plan: 1 to create, 1 to update.");
  });
});
