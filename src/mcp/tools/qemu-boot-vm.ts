import path from "node:path";
import { z } from "zod";
import { QfleetError } from "../../errors.js";
import { LOCAL } from "../../hosts/local.js";
import { portHolder } from "../../apply/launch.js";
import { loadInventory, loadSpecs } from "../../fleet/inventory.js";
import { imageInfo } from "../../qemu/img.js";
import { NAME_RE } from "../../spec/schema.js";
import { specLabel } from "../../spec/store.js";
import { writeSpec } from "../../spec/write.js";
import { sshCommand, vmStatus } from "../../fleet/status.js";
import { defineTool } from "../tool.js";
import { reconcileFor } from "../vm-common.js";

const host = LOCAL;

/** A VM name from an image file name: safe characters only, at most 63. */
export function nameFromImage(image: string): string {
  const base = path.basename(image).replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (base || "vm").slice(0, 63);
}

async function portBusy(port: number): Promise<string | null> {
  const open = await host.connectTcp(port).then((s) => (s.destroy(), true), () => false);
  if (!open) return null;
  return (await portHolder(host, port)) ?? "another process";
}

export const qemuBootVm = defineTool({
  name: "qemu_boot_vm",
  title: "Boot a disk image",
  description:
    "Boot an existing disk image (a golden image, a test image) as a VM: writes vms/NAME.yaml for it and reconciles it. By default the VM " +
    "runs on a copy-on-write overlay so the image itself is never written. Returns at once; then poll qemu_vm_status until ssh_accessible.",
  input: {
    image_path: z.string().min(1).describe("the bootable disk image (qcow2 or raw, or any format with overlay: true)"),
    name: z.string().regex(NAME_RE, "letters, digits, . _ -; start with a letter or digit; at most 63").optional().describe("VM name (default: from the image file name)"),
    ssh_port: z.int().min(1024).max(65535).optional().describe("host port on 127.0.0.1 forwarded to the guest's port 22 (default: the first free from 2222)"),
    memory: z.string().regex(/^\d+(\.\d+)?\s*[KMGT]?(i?B)?$/i).optional().describe("guest RAM, e.g. 2G or 512M (default 2G)"),
    cpus: z.int().min(1).max(64).optional().describe("vCPUs (default 2)"),
    arch: z.enum(["x86_64", "aarch64", "arm64"]).optional().describe("guest architecture (default: this host's)"),
    firmware: z.enum(["bios", "uefi"]).optional().describe("default bios on x86_64, uefi on aarch64"),
    overlay: z.boolean().default(true).describe("boot a copy-on-write overlay (default true); false writes to the image itself"),
  },
  output: {
    success: z.boolean(),
    name: z.string(),
    pid: z.number().optional(),
    ssh_port: z.number(),
    accelerator: z.string().optional(),
    ssh_command: z.string(),
    spec_file: z.string(),
    note: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false },
  async run(a, call, ctx) {
    const image = path.resolve(ctx.dir, a.image_path);
    const info = await imageInfo(host, image);
    if (!a.overlay && info.format !== "qcow2" && info.format !== "raw") {
      throw new QfleetError("BAD_INPUT", `${image} is ${info.format}: boot it with overlay: true, or convert it to qcow2 first (qemu_image_convert)`);
    }
    const name = a.name ?? nameFromImage(image);
    const fleet = await loadSpecs(ctx.dir);
    if (fleet.specs.some((s) => s.name === name) || fleet.invalid.includes(name)) {
      throw new QfleetError("EXISTS", `VM ${name} already exists (${specLabel(name)})`, { hint: "pass another name, or use manage_vm to change it" });
    }
    const claimed = new Set(fleet.specs.flatMap((s) => [s.spec.ssh?.port, ...s.spec.forwards.map((f) => f.host)]));
    let port = a.ssh_port;
    if (port === undefined) {
      for (port = 2222; claimed.has(port) || (await portBusy(port)); port++);
    } else {
      const holder = claimed.has(port) ? "another VM's spec" : await portBusy(port);
      if (holder) throw new QfleetError("BUSY", `port ${port} on 127.0.0.1 is already in use by ${holder}`, { hint: "pass another ssh_port, or leave it out to pick a free one" });
    }
    const { file } = await writeSpec(host, ctx.dir, name, {
      ...(a.arch && { arch: a.arch }),
      ...(a.cpus && { vcpus: a.cpus }),
      ...(a.memory && { memory: a.memory }),
      ...(a.firmware && { firmware: a.firmware }),
      disks: [a.overlay ? { path: image, overlay: true } : { path: image, format: info.format }],
      ssh: { port },
      state: "running",
    });
    await reconcileFor(ctx, call, [name]);
    const st = await vmStatus(await loadInventory(ctx.dir, { only: [name] }), name, { waitSshMs: 0 });
    return {
      success: true,
      name,
      pid: st.pid,
      ssh_port: port,
      accelerator: st.accelerator,
      ssh_command: sshCommand("local", port),
      spec_file: file,
      note: `VM booting in the background${a.overlay ? " on an overlay (the image is not written)" : ""}. Poll qemu_vm_status(name: "${name}") until ssh_accessible.`,
    };
  },
});
