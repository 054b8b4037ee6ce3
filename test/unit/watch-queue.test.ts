import { describe, expect, it } from "vitest";
import { ReconcileQueue, type RunTarget } from "../../src/watch/queue.js";

/** A fake reconcile: records what ran, and finishes only when the test says so. */
function harness() {
  const started: RunTarget[] = [];
  const finish: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  const q = new ReconcileQueue((t) => {
    started.push(t);
    running++;
    maxRunning = Math.max(maxRunning, running);
    return new Promise<void>((resolve) => finish.push(() => (running--, resolve())));
  });
  const tick = () => new Promise((r) => setTimeout(r, 0));
  const done = async (i: number) => (finish[i](), await tick(), await tick());
  return {
    q,
    started,
    done,
    tick,
    get running() {
      return running;
    },
    get maxRunning() {
      return maxRunning;
    },
  };
}

describe("ReconcileQueue", () => {
  it("runs one reconcile at a time, merging the VMs requested meanwhile into the next one", async () => {
    const h = harness();
    h.q.request(["a"]);
    h.q.request(["b"]);
    h.q.request(["c"]);
    expect(h.started).toEqual([["a"]]);
    expect(h.running).toBe(1);
    await h.done(0);
    expect(h.started).toEqual([["a"], ["b", "c"]]);
    expect(h.maxRunning).toBe(1);
  });

  it("never runs one VM twice at once: a change during its run queues one more run after it", async () => {
    const h = harness();
    h.q.request(["a"]);
    h.q.request(["a", "b"]);
    h.q.request(["a"]);
    expect(h.started).toEqual([["a"]]);
    await h.done(0);
    expect(h.started).toEqual([["a"], ["a", "b"]]); // a again, after its first run ended
    await h.done(1);
    expect(h.started.length).toBe(2);
  });

  it("a full run waits for the runs in flight, holds new ones back and absorbs earlier requests", async () => {
    const h = harness();
    h.q.request(["a"]);
    h.q.request("all");
    h.q.request(["b"]);
    expect(h.started).toEqual([["a"]]);
    await h.done(0);
    expect(h.started).toEqual([["a"], "all"]); // b was absorbed into the full run
    h.q.request(["c"]);
    h.q.request("all");
    await h.tick();
    expect(h.started).toEqual([["a"], "all"]); // nothing next to a full run
    await h.done(1);
    expect(h.started).toEqual([["a"], "all", "all"]); // c absorbed again
    await h.done(2);
    expect(h.q.waiting).toEqual({ all: false, vms: [] });
    expect(h.maxRunning).toBe(1);
  });

  it("close() drops what has not started; idle() waits for what has", async () => {
    const h = harness();
    h.q.request(["a"]);
    h.q.request(["a"]);
    h.q.close();
    h.q.request(["b"]);
    let idle = false;
    const p = h.q.idle().then(() => (idle = true));
    await h.tick();
    expect(idle).toBe(false);
    await h.done(0);
    await p;
    expect(h.started).toEqual([["a"]]);
  });

  it("a failing run does not jam the queue", async () => {
    let n = 0;
    const q = new ReconcileQueue(async () => {
      n++;
      throw new Error("boom");
    });
    q.request(["a"]);
    await q.idle();
    q.request(["a"]);
    await q.idle();
    expect(n).toBe(2);
  });
});
