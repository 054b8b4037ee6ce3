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
  /** /proc/PID/stat's state letter, where the host tells (see Host.listProcesses). */
  state?: string;
}

export async function listQemuProcesses(host: Host): Promise<QemuProcess[]> {
  const procs = await host.listProcesses("qemu-system-");
  return procs.map((p) => ({ pid: p.pid, ...parseQemuArgv(p.argv), ...(p.state && { state: p.state }) }));
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
