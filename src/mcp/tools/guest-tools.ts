import * as z from "zod";
import { copyFromGuest, copyToGuest, execInGuest } from "../../fleet/guest-ops.js";
import { loadInventory } from "../../fleet/inventory.js";
import { defineTool, vmNameArg } from "../tool.js";

/** What reaches inside a running guest: a command, a file in, a file out. */
const vmName = vmNameArg.describe("the VM");
const inventoryFor = (dir: string, name: string) => loadInventory(dir, { only: [name] });

export const vmExec = defineTool({
  name: "vm_exec",
  title: "Run a command in a VM",
  description:
    "Run a shell command in a running VM's guest and return its exit code and output: over SSH as the fleet's user (cloud-init guests), " +
    "or through the QEMU guest agent when SSH cannot log in (via says which). Output is bounded (1 MiB per stream, truncated says so); " +
    "timeout_s really ends the command in the guest. It runs with the login user's rights (sudo works without a password).",
  input: {
    name: vmName,
    command: z.string().min(1).describe("a shell command line, run by /bin/sh -c in the guest"),
    timeout_s: z.number().positive().max(3600).default(60).describe("time limit in seconds (default 60)"),
    stdin: z.string().optional().describe("text written to the command's standard input"),
  },
  output: {
    success: z.boolean(),
    message: z.string(),
    exit_code: z.number().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    truncated: z.boolean(),
    timed_out: z.boolean(),
    via: z.enum(["ssh", "agent"]),
    ssh_error: z.string().optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
  async run(a, _c, ctx) {
    const r = await execInGuest(await inventoryFor(ctx.dir, a.name), a.name, a.command, { stdin: a.stdin, timeoutMs: a.timeout_s * 1000 });
    const ok = r.exit_code === 0 && !r.timed_out;
    const message = r.timed_out ? `timed out after ${a.timeout_s} s and was ended` : `exited ${r.exit_code ?? "by a signal"} (via ${r.via})`;
    return { success: ok, message, ...r };
  },
});

const copyOutput = { success: z.boolean(), message: z.string(), local_path: z.string(), guest_path: z.string(), bytes: z.number() };

export const vmCopyTo = defineTool({
  name: "vm_copy_to",
  title: "Copy a file into a VM",
  description:
    "Copy a file of this machine into a running VM's guest over SFTP (as the fleet's user: the guest path must be writable by it). " +
    "An existing guest file is never overwritten unless overwrite is true. Returns the bytes copied.",
  input: {
    name: vmName,
    local_path: z.string().min(1).describe("the file on this machine (relative to the fleet folder)"),
    guest_path: z.string().min(1).describe("where it goes in the guest (absolute, or relative to the user's home)"),
    overwrite: z.boolean().default(false),
  },
  output: copyOutput,
  annotations: { readOnlyHint: false, destructiveHint: true }, // only with overwrite: true, but then it is
  async run(a, _c, ctx) {
    const r = await copyToGuest(await inventoryFor(ctx.dir, a.name), a.name, resolveIn(ctx.dir, a.local_path), a.guest_path, {
      overwrite: a.overwrite,
    });
    return { success: true, message: `copied ${r.bytes} bytes to ${a.name}:${r.guest_path}`, ...r };
  },
});

export const vmCopyFrom = defineTool({
  name: "vm_copy_from",
  title: "Copy a file out of a VM",
  description:
    "Copy a file of a running VM's guest to this machine over SFTP. An existing local file is never overwritten unless overwrite is true; " +
    "a failed copy leaves no partial file. Returns the bytes copied.",
  input: {
    name: vmName,
    guest_path: z.string().min(1).describe("the file in the guest"),
    local_path: z.string().min(1).describe("where it goes on this machine (relative to the fleet folder)"),
    overwrite: z.boolean().default(false),
  },
  output: copyOutput,
  annotations: { readOnlyHint: false, destructiveHint: true }, // only with overwrite: true, but then it is
  async run(a, _c, ctx) {
    const r = await copyFromGuest(await inventoryFor(ctx.dir, a.name), a.name, a.guest_path, resolveIn(ctx.dir, a.local_path), {
      overwrite: a.overwrite,
    });
    return { success: true, message: `copied ${r.bytes} bytes from ${a.name}:${r.guest_path}`, ...r };
  },
});

const resolveIn = (dir: string, p: string) => (p.startsWith("/") ? p : `${dir.replace(/\/+$/, "")}/${p}`);
