import * as z from "zod";
import { declareBootVm } from "../../fleet/boot.js";
import { loadInventory } from "../../fleet/inventory.js";
import { isReady, vmStatus } from "../../fleet/status.js";
import { defineTool, vmNameArg } from "../tool.js";
import { reconcileFor } from "../vm-common.js";

export const qemuBootVm = defineTool({
  name: "qemu_boot_vm",
  title: "Boot a disk image",
  description:
    "Boot a disk image (a golden image, a test image, a stock cloud image) as a VM: writes vms/NAME.yaml for it and reconciles it. The image " +
    "is a file (image_path) or a URL with its digest (image_url + sha256 or sha512: downloaded once into the image cache and checked, with " +
    "progress). By default the VM runs on a copy-on-write overlay so the image itself is never written, and gets a cloud-init seed: stock " +
    "cloud images (Debian, Ubuntu) then create user qfleet with sudo and the fleet's SSH key. With wait_s it waits until that login works; " +
    "else poll qemu_vm_status.",
  input: {
    image_path: z.string().min(1).optional().describe("the bootable disk image file (qcow2 or raw, or any format with overlay: true); or image_url"),
    image_url: z.string().min(1).optional().describe("an http(s):// or file:// URL of the image, instead of image_path; needs sha256 or sha512"),
    sha256: z.string().optional().describe("with image_url: the image's SHA-256 (64 hex digits)"),
    sha512: z.string().optional().describe("with image_url: the image's SHA-512 (128 hex digits)"),
    name: vmNameArg.optional().describe("VM name (default: from the image file name)"),
    ssh_port: z
      .int()
      .min(1024)
      .max(65535)
      .optional()
      .describe("host port on 127.0.0.1 forwarded to the guest's port 22 (default: the first free from 2222)"),
    memory: z
      .string()
      .regex(/^\d+(\.\d+)?\s*[KMGT]?(i?B)?$/i)
      .optional()
      .describe("guest RAM, e.g. 2G or 512M (default 2G)"),
    cpus: z.int().min(1).max(64).optional().describe("vCPUs (default 2)"),
    disk_size: z
      .string()
      .regex(/^\d+(\.\d+)?\s*[KMGT]?(i?B)?$/i)
      .optional()
      .describe("grow the VM's disk to this size, e.g. 20G (cloud images grow their root filesystem to it on first boot)"),
    arch: z.enum(["x86_64", "aarch64", "arm64"]).optional().describe("guest architecture (default: this host's)"),
    firmware: z.enum(["bios", "uefi"]).optional().describe("default bios on x86_64, uefi on aarch64"),
    overlay: z.boolean().default(true).describe("boot a copy-on-write overlay (default true); false writes to the image itself"),
    cloud_init: z
      .boolean()
      .default(true)
      .describe("give the guest a cloud-init seed (default true): user qfleet with sudo and the fleet's SSH key; false for images that need none"),
    ssh_authorized_keys: z.array(z.string()).optional().describe("more public keys for the login user"),
    display: z.enum(["none", "vnc"]).default("none").describe("vnc: a screen (vm_screenshot, vm_send_keys); default none"),
    wait_s: z
      .int()
      .min(0)
      .max(900)
      .default(0)
      .describe(
        "wait up to this many seconds until the guest is ready (a login as the fleet works and cloud-init finished), with progress; 0 returns at once",
      ),
  },
  output: {
    success: z.boolean(),
    name: z.string(),
    pid: z.number().optional(),
    ssh_port: z.number(),
    accelerator: z.string().optional(),
    ssh_command: z.string(),
    ssh_user: z.string(),
    login_ok: z.boolean().optional(),
    cloud_init: z.string().optional(),
    message: z.string(),
    spec_file: z.string(),
    note: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false },
  async run(a, call, ctx) {
    const { name, file, port } = await declareBootVm(ctx.dir, {
      image: a.image_path,
      imageUrl: a.image_url,
      sha256: a.sha256,
      sha512: a.sha512,
      name: a.name,
      sshPort: a.ssh_port,
      memory: a.memory,
      cpus: a.cpus,
      arch: a.arch,
      firmware: a.firmware,
      overlay: a.overlay,
      diskSize: a.disk_size,
      display: a.display,
      cloudInit: a.cloud_init ? (a.ssh_authorized_keys?.length ? { ssh_authorized_keys: a.ssh_authorized_keys } : true) : false,
    });
    await reconcileFor(ctx, call, [name]);
    let waited = 0;
    const st = await vmStatus(await loadInventory(ctx.dir, { only: [name] }), name, {
      waitMs: a.wait_s * 1000,
      onWait: (s) => void call.progress(++waited, undefined, s.message),
    });
    const ready = isReady(st);
    return {
      success: true,
      name,
      pid: st.pid,
      ssh_port: port,
      accelerator: st.accelerator,
      ssh_command: st.ssh_command!,
      ssh_user: st.ssh_user!,
      ...(st.login_ok !== undefined && { login_ok: st.login_ok }),
      ...(st.cloud_init && { cloud_init: st.cloud_init }),
      message: st.message,
      spec_file: file,
      note: ready
        ? "The guest is ready: run commands with vm_exec, copy files with vm_copy_to / vm_copy_from, or log in with ssh_command."
        : `VM booting in the background${a.overlay ? " on an overlay (the image is not written)" : ""}. Call qemu_vm_status(name: "${name}", wait_s: 300) to wait until it is ready.`,
    };
  },
});
