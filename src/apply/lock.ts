import { randomBytes } from "node:crypto";
import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { thisMachine } from "../hosts/local.js";

/**
 * One reconcile per vm_dir per host at a time. The lock is a kernel flock held by a child
 * process (`flock ... cat`) whose stdin is a pipe from us: when this process dies, however it
 * dies, the pipe closes, the child exits and the kernel releases the lock. That works the same
 * over SSH. Who holds it is written beside the lock file, for the error message.
 */
export interface HeldLock {
  release(): Promise<void>;
}

const BUSY_EXIT = 75;
/** flock(1) exits EX_CANTCREAT when it cannot open (create) the lock file. */
const CANT_CREATE_EXIT = 73;

/** One per reconcile run: the locks a run already holds are recognised by it (see acquireLock). */
export const newRunToken = (): string => randomBytes(8).toString("hex");

export async function acquireLock(
  host: Host,
  vmDir: string,
  action: string,
  opts: { waitSeconds?: number; runToken?: string } = {},
): Promise<HeldLock> {
  const token = opts.runToken ?? newRunToken();
  await host.mkdir(vmDir, { mode: 0o755 });
  const lockFile = path.posix.join(vmDir, ".qfleet.lock");
  const infoFile = `${lockFile}.json`;
  const mode = opts.waitSeconds ? ["-w", String(opts.waitSeconds)] : ["-n"];
  const child = host.spawn(["flock", ...mode, "-E", String(BUSY_EXIT), lockFile, "sh", "-c", "echo locked; exec cat"]);
  const acquired = await new Promise<boolean>((resolve) => {
    child.stdout.once("data", () => resolve(true));
    child.exited.then(() => resolve(false));
  });
  if (!acquired) {
    const code = await child.exited;
    const holder = await host
      .readFile(infoFile)
      .then((t) => JSON.parse(t) as Record<string, unknown>)
      .catch(() => null);
    // two hosts.yaml names for one machine lead one run here twice: that lock is already its own
    if (holder && holder.pid === process.pid && holder.machine === thisMachine() && holder.token === token) return { release: async () => undefined };
    const who = holder ? `pid ${holder.pid} on ${holder.machine ?? "?"} (${holder.action}, since ${holder.since})` : "another process";
    if (code === BUSY_EXIT || code === 1) {
      throw new QfleetError("BUSY", `${vmDir} on ${host.name} is locked by ${who}`, {
        hint: opts.waitSeconds ? "it did not finish in time" : "wait for it to finish, or pass --wait to queue behind it",
      });
    }
    if (code === CANT_CREATE_EXIT)
      throw new QfleetError(
        "BAD_INPUT",
        `cannot create the lock file ${lockFile} on ${host.name}: ${vmDir} is read-only or not writable by this user`,
        {
          hint: "use a vm_dir this user can write (spec vm_dir, hosts.yaml vm_dir or QFLEET_VM_DIR), or remount it read-write",
        },
      );
    throw new QfleetError("MISSING_TOOL", `could not take the lock on ${vmDir} on ${host.name} (flock exited ${code})`, {
      hint: "flock comes with util-linux: Debian/Ubuntu `apt-get install util-linux`",
    });
  }
  try {
    await host.writeFile(
      infoFile,
      JSON.stringify({ pid: process.pid, machine: thisMachine(), token, action, since: new Date().toISOString() }) + "\n",
    );
  } catch (e) {
    child.stdin.end(); // a lock whose holder we cannot report is released, never left held
    await child.exited;
    throw e;
  }
  return {
    async release() {
      await host.remove(infoFile).catch(() => undefined);
      child.stdin.end();
      await child.exited;
    },
  };
}
