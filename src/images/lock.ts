import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";

const BUSY_EXIT = 75;
/** How long a second run waits for another one's download of the same image. */
export const IMAGE_LOCK_WAIT_S = 4 * 3600;

/**
 * The lock of one image in a host's cache: a kernel flock held by a child (`flock FILE sh -c
 * 'echo locked; exec cat'`) whose stdin is a pipe from this process, as the reconcile lock is:
 * it ends with this process however that ends, here or over SSH. `wait: false` gives null at
 * once when another holds it; otherwise `onWait` is called once and the lock is waited for.
 */
export async function lockImage(
  host: Host,
  lockFile: string,
  opts: { wait?: boolean; onWait?: () => void } = {},
): Promise<{ release(): Promise<void> } | null> {
  const held = await take(host, lockFile, ["-n"]);
  if (held !== "busy") return held;
  if (opts.wait === false) return null;
  opts.onWait?.();
  const waited = await take(host, lockFile, ["-w", String(IMAGE_LOCK_WAIT_S)]);
  if (waited === "busy")
    throw new QfleetError("BUSY", `${lockFile} on ${host.name} was held for ${IMAGE_LOCK_WAIT_S / 3600} hours by another download of that image`, {
      hint: "is another qfleet stuck downloading it? stop it, then run again",
    });
  return waited;
}

async function take(host: Host, lockFile: string, mode: string[]): Promise<{ release(): Promise<void> } | "busy"> {
  const child = host.spawn(["flock", ...mode, "-E", String(BUSY_EXIT), lockFile, "sh", "-c", "echo locked; exec cat"]);
  const acquired = await new Promise<boolean>((resolve) => {
    child.stdout.once("data", () => resolve(true));
    void child.exited.then(() => resolve(false));
  });
  if (acquired)
    return {
      async release() {
        child.stdin.end();
        await child.exited;
      },
    };
  const code = await child.exited;
  if (code === BUSY_EXIT) return "busy";
  throw new QfleetError("MISSING_TOOL", `could not lock ${lockFile} on ${host.name} (flock exited ${code})`, {
    hint: "flock comes with util-linux (Debian/Ubuntu: apt-get install util-linux); the folder must be writable",
  });
}
