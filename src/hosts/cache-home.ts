import { homedir } from "node:os";
import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "./host.js";

const asked = new WeakMap<Host, Promise<string>>();

/**
 * The user's cache folder on a host: `$XDG_CACHE_HOME` when it is an absolute path, else
 * `$HOME/.cache`. For this machine the environment of this process; for another host the login
 * environment of the SSH user there (asked once per Host object).
 */
export function cacheHome(host: Host): Promise<string> {
  if (host.name === "local") return Promise.resolve(pick(process.env.XDG_CACHE_HOME, homedir()));
  let p = asked.get(host);
  if (!p) {
    p = host.run(["sh", "-c", 'printf "%s\\n%s\\n" "$XDG_CACHE_HOME" "$HOME"'], { timeoutMs: 15_000 }).then((r) => {
      const [xdg, home] = r.stdout.split("\n");
      if (!path.posix.isAbsolute(home ?? ""))
        throw new QfleetError("BAD_INPUT", `the SSH user on ${host.name} has no home folder ($HOME is ${JSON.stringify(home ?? "")})`, {
          hint: "give the user a home folder: its image cache is ~/.cache/qemu-fleet/images there",
        });
      return pick(xdg, home);
    });
    asked.set(host, p);
    p.catch(() => asked.delete(host));
  }
  return p;
}

const pick = (xdg: string | undefined, home: string) => (xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(home, ".cache"));
