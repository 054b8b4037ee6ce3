import type { Host } from "../hosts/host.js";
import type { Arch } from "../spec/schema.js";

/** A qemu-system process as seen in /proc, with what its command line says about it. */
export interface QemuProcess {
  pid: number;
  argv: string[];
  /** From `-name NAME,...`. */
  name?: string;
  arch?: Arch | string;
  /** From `-qmp unix:PATH,...`. */
  qmpSocket?: string;
  pidfile?: string;
  /** Host ports forwarded with hostfwd. */
  ports: number[];
}

/*
 * One fixed command per host lists the command lines of every process whose cmdline mentions
 * qemu-system (grep reads all of /proc in one process); NULs become \x01 so each process
 * is one line. No user input is part of it.
 */
const LIST_SCRIPT =
  "for f in $(grep -las qemu-system /proc/[0-9]*/cmdline); do " +
  "p=${f#/proc/}; printf '%s\\t' \"${p%/cmdline}\"; tr '\\000' '\\001' < \"$f\" 2>/dev/null; echo; done";

export async function listQemuProcesses(host: Host): Promise<QemuProcess[]> {
  const r = await host.run(["sh", "-c", LIST_SCRIPT], { allowFailure: true, timeoutMs: 15_000 });
  return parseProcessList(r.stdout);
}

/** Pure: the listing above -> processes whose argv[0] is a qemu-system binary. */
export function parseProcessList(out: string): QemuProcess[] {
  const procs: QemuProcess[] = [];
  for (const line of out.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const pid = Number(line.slice(0, tab));
    const argv = line.slice(tab + 1).split("\x01").filter((s, i, all) => !(i === all.length - 1 && s === ""));
    if (!Number.isInteger(pid) || argv.length === 0) continue;
    const bin = argv[0].split("/").pop() ?? "";
    if (!bin.startsWith("qemu-system-")) continue;
    procs.push({ pid, ...parseQemuArgv(argv) });
  }
  return procs;
}

/** Pure: what a QEMU command line says about the VM it runs. */
export function parseQemuArgv(argv: string[]): Omit<QemuProcess, "pid"> {
  const p: Omit<QemuProcess, "pid"> = { argv, ports: [] };
  p.arch = (argv[0].split("/").pop() ?? "").replace(/^qemu-system-/, "");
  for (let i = 1; i < argv.length; i++) {
    const opt = argv[i].replace(/^--/, "-");
    const val = argv[i + 1] ?? "";
    if (opt === "-name") p.name = unescape(firstField(val.replace(/^guest=/, "")));
    else if (opt === "-qmp" && val.startsWith("unix:")) p.qmpSocket = unescape(firstField(val.slice(5)));
    else if (opt === "-pidfile") p.pidfile = val;
    else if (opt === "-netdev" || opt === "-nic" || opt === "-net") {
      for (const m of val.matchAll(/hostfwd=(?:tcp|udp)?:[^:,]*:(\d+)-/g)) p.ports.push(Number(m[1]));
    }
  }
  return p;
}

/** The first comma-separated field of a QEMU option value, honouring ",," escapes. */
function firstField(v: string): string {
  const m = /^((?:[^,]|,,)*)/.exec(v);
  return m ? m[1] : v;
}
const unescape = (v: string) => v.replaceAll(",,", ",");
