import type { Command } from "commander";
import { QfleetError } from "../errors.js";
import { consoleTarget, openConsole, readConsole, sendToConsole, waitOnConsole, type ConsoleTarget } from "../fleet/console.js";
import { loadInventory } from "../fleet/inventory.js";
import { positiveInt, seconds } from "./options.js";
import { action, printJson } from "./output.js";

interface Flags {
  dir: string;
  tail?: string;
  send?: string;
  enter: boolean;
  wait?: string;
  timeout: string;
  json?: boolean;
}

/** Ctrl-] ends an attached session, as in virsh console and telnet. */
const DETACH = 0x1d;

export function registerConsole(program: Command): void {
  program
    .command("console <name>")
    .description("attach this terminal to a VM's serial console (Ctrl-] detaches), or read, type on or wait for its console")
    .option("-C, --dir <dir>", "folder holding vms/ and hosts.yaml", ".")
    .option("--tail [lines]", "print the last lines as clean text (default 50) and exit")
    .option("--send <text>", "type this text, then Enter, and exit (with --wait: then wait for the answer)")
    .option("--no-enter", "with --send: no Enter after the text")
    .option("--wait <regex>", "wait until a console line matches, print it and exit (1 on a timeout)")
    .option("--timeout <seconds>", "how long --wait waits", "60")
    .option("--json", "print the result as JSON (--tail, --send, --wait)")
    .addHelpText(
      "after",
      `
The console is the VM's first serial port: what the guest prints is always logged to serial.log
in its instance folder; input goes through console.sock (one client at a time). Works for VMs on
remote hosts too. Examples:
  qfleet console web1                          attach (Ctrl-] detaches)
  qfleet console web1 --tail 20
  qfleet console web1 --wait 'login:' --timeout 120
  qfleet console web1 --send root --wait 'Password:'`,
    )
    .action(
      action(async (name: string, f: Flags) => {
        const t = consoleTarget(await loadInventory(f.dir, { only: [name] }), name);
        if (f.tail !== undefined) {
          const lines = await readConsole(t, f.tail === (true as unknown) ? 50 : positiveInt(String(f.tail), "--tail"));
          if (f.json) printJson({ success: true, lines, running: t.running });
          else process.stdout.write(lines.map((l) => `${l}\n`).join(""));
          return 0;
        }
        const sent = f.send === undefined ? undefined : await sendToConsole(t, f.send, f.enter);
        if (sent && f.wait === undefined) {
          if (f.json) printJson({ success: true, bytes: sent.bytes });
          return 0;
        }
        if (f.wait !== undefined) {
          // after --send, the answer to it counts even when it came before this wait began
          const w = await waitOnConsole(t, new RegExp(f.wait), seconds(f.timeout, "--timeout") * 1000, { fromOffset: sent?.logOffset });
          if (f.json) printJson({ success: w.matched, ...w });
          else if (w.matched) process.stdout.write(`${w.line}\n`);
          else process.stderr.write(`error: no console line matched /${f.wait}/ in time; the console shows:\n${(w.last ?? []).join("\n")}\n`);
          return w.matched ? 0 : 1;
        }
        return attach(t);
      }),
    );
}

async function attach(t: ConsoleTarget): Promise<number> {
  if (!process.stdin.isTTY) throw new QfleetError("BAD_INPUT", "attaching needs a terminal", { hint: "use --tail, --send or --wait from scripts" });
  const sock = await openConsole(t);
  process.stderr.write(`Connected to ${t.name}'s console (Ctrl-] detaches). Press Enter for a prompt.\r\n`);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  return new Promise<number>((resolve) => {
    const end = (code: number) => {
      process.stdin.setRawMode(false);
      process.stdin.pause();
      process.stdin.off("data", onKey);
      sock.destroy();
      process.stderr.write("\r\nDetached.\n");
      resolve(code);
    };
    const onKey = (b: Buffer) => (b.includes(DETACH) ? end(0) : sock.write(b));
    process.stdin.on("data", onKey);
    sock.on("data", (b: Buffer) => process.stdout.write(b));
    sock.on("close", () => end(0));
    sock.on("error", () => end(1));
  });
}
