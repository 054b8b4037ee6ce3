import { Command, type ParseOptionsResult } from "commander";
import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { LOCAL } from "../hosts/local.js";
import { humanSize } from "../units.js";
import { convertImage, OUTPUT_FORMATS } from "../qemu/img-convert.js";
import { createOverlay, imageInfo, resizeImage, type ImageInfo } from "../qemu/img.js";
import { recordOverlayUser } from "../images/cache-users.js";
import { registerImageCache } from "./image-cache.js";
import { action, printError, printJson } from "./output.js";
import { progressBar, type Progress } from "./progress.js";

/**
 * `qfleet image info|convert|overlay|resize`: thin shells over src/qemu/img.ts, on this machine or
 * on a host from hosts.yaml (`--host NAME`, `-C DIR`).
 * Results go to stdout (aligned text, or the API's result object with --json); progress to stderr.
 */
interface JsonOpt {
  json?: boolean;
  host?: string;
  dir?: string;
}

/**
 * The host an image command acts on: this machine, or `--host NAME` from `-C DIR`/hosts.yaml.
 * On another host a path names a file there, so it must be absolute.
 */
async function hostFor(o: JsonOpt, paths: (string | undefined)[]): Promise<Host> {
  if (!o.host) return LOCAL;
  const { registryFromDir } = await import("../fleet/registry-from-dir.js");
  const host = (await registryFromDir(o.dir ?? ".")).get(o.host);
  const relative = o.host === "local" ? undefined : paths.find((p) => p !== undefined && !path.posix.isAbsolute(p));
  if (relative !== undefined) throw new QfleetError("BAD_INPUT", `${relative}: give an absolute path; it names a file on ${o.host}`);
  return host;
}

/** --host and -C on an image subcommand. */
const hostOptions = (c: Command) =>
  c
    .option("--host <name>", "act on this host from hosts.yaml (default: this machine)")
    .option("-C, --dir <dir>", "folder holding hosts.yaml (with --host)", ".");

/** action() with the options object visible to it, so errors print as JSON under --json. */
const withOpts = (o: JsonOpt, fn: () => Promise<number | void>) => action(async (_o: JsonOpt) => fn())(o);

export function registerImage(program: Command): void {
  const image = program
    .command("image")
    .description("inspect and change disk images with qemu-img; pull images by URL into the image cache")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet image info disk.qcow2\n  qfleet image pull https://example.org/golden.qcow2 --sha256 <hex>\n  qfleet image cache prune\n  qfleet image convert disk.vmdk --format qcow2\n  qfleet image overlay golden.qcow2\n  qfleet image resize disk.qcow2 +10G\n  qfleet image info /var/lib/qemu/web1/disk0.qcow2 --host lab1   (a host from hosts.yaml)",
    );

  hostOptions(image.command("info"))
    .description("show an image's format, sizes, backing file and snapshots")
    .argument("<path>", "image file")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet image info disk.qcow2\n  qfleet image info disk.qcow2 --json\n\nA file in use by a running VM is read with force-share (-U); its sizes may be changing.",
    )
    .action((p: string, o: JsonOpt) =>
      withOpts(o, async () => {
        const info = await imageInfo(await hostFor(o, [p]), p);
        if (o.json) printJson(info);
        else process.stdout.write(infoText(info));
      }),
    );

  hostOptions(image.command("convert"))
    .description("convert an image to another format (the input is never changed)")
    .argument("<path>", "image to convert")
    .requiredOption("--format <format>", `output format: ${OUTPUT_FORMATS.join(", ")}`)
    .option("-o, --output <path>", "output file (default: beside the input, with the format's extension)")
    .option("--force", "overwrite an existing output (replaced only once the new one is complete)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet image convert disk.vmdk --format qcow2          writes disk.qcow2\n  qfleet image convert disk.qcow2 --format raw -o /data/disk.img --force",
    )
    .action((p: string, o: JsonOpt & { format: string; output?: string; force?: boolean }) =>
      withOpts(o, async () => {
        // The bar starts with qemu-img's first report, so a refused convert prints only its error.
        let bar: Progress | undefined;
        const onProgress = (pct: number) => (bar ??= progressBar(`converting ${path.basename(p)} to ${o.format}`)).update(pct);
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        // while converting, Ctrl-C and SIGTERM cancel qemu-img and remove its staging folder
        process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
        try {
          const opts = { input: p, format: o.format, output: o.output, force: o.force, onProgress, signal: stop.signal };
          const r = await convertImage(await hostFor(o, [p, o.output]), opts);
          bar?.done();
          if (o.json) printJson(r);
          else
            process.stdout.write(
              `converted ${r.input_path} (${r.input_format}) -> ${r.output_path} (${r.output_format}), ${r.output_size} virtual\n`,
            );
        } catch (e) {
          bar?.done();
          if (!stop.signal.aborted) throw e;
          printError(e, o.json);
          return 130;
        } finally {
          process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
        }
      }),
    );

  hostOptions(image.command("overlay"))
    .description("create a qcow2 copy-on-write overlay: writes go to the overlay, the base stays as it is")
    .argument("<base>", "base image")
    .option("-o, --output <path>", "overlay file (default: <base-name>-overlay.qcow2 beside the base)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  qfleet image overlay golden.qcow2                  writes golden-overlay.qcow2\n  qfleet image overlay golden.qcow2 -o /tmp/test1.qcow2",
    )
    .action((base: string, o: JsonOpt & { output?: string }) =>
      withOpts(o, async () => {
        const host = await hostFor(o, [base, o.output]);
        const r = await createOverlay(host, { base, output: o.output });
        await recordOverlayUser(host, r.backing_file, r.overlay_path); // an overlay on a cached image keeps it from prune
        if (o.json) printJson(r);
        else
          process.stdout.write(
            table([
              ["overlay", r.overlay_path],
              ["backing file", `${r.backing_file} (${r.backing_format})`],
              ["note", r.note],
            ]),
          );
      }),
    );

  registerImageCache(image);

  image.addCommand(
    hostOptions(new SizeArgCommand("resize"))
      .description("grow, shrink or set an image's virtual size (shrinking needs --shrink)")
      .argument("<path>", "image file")
      .argument("<size>", "+10G grows by 10 GiB, -5G shrinks by 5 GiB, 100G sets 100 GiB")
      .option("--shrink", "allow making the image smaller (data past the new end is lost)")
      .option("--json", "print the result as JSON")
      .addHelpText(
        "after",
        "\nExamples:\n  qfleet image resize disk.qcow2 +10G\n  qfleet image resize disk.qcow2 100G\n  qfleet image resize disk.qcow2 -5G --shrink\n\nStop the VM using the image first; a busy image is refused.",
      )
      .action((p: string, size: string, o: JsonOpt & { shrink?: boolean }) =>
        withOpts(o, async () => {
          const r = await resizeImage(await hostFor(o, [p]), { path: p, size, shrink: o.shrink });
          if (o.json) printJson(r);
          else if (!r.changed) process.stdout.write(`${r.image_path} is already ${r.new_size_human} (${r.new_size} bytes); nothing to do\n`);
          else process.stdout.write(`resized ${r.image_path} from ${r.old_size_human} to ${r.new_size_human} (${r.new_size} bytes)\n`);
        }),
      ),
  );
}

/**
 * A command whose arguments may be negative sizes ("-5G"): commander would read them as unknown
 * options, so they are hidden from its option parser and handed back as operands.
 */
class SizeArgCommand extends Command {
  override parseOptions(argv: string[]): ParseOptionsResult {
    const mark = "\u0000size:";
    const hide = (a: string) => (/^-\d+(\.\d+)?([KMGTP]i?B?|B)?$/i.test(a) ? mark + a : a);
    const show = (xs: string[]) => xs.map((a) => (a.startsWith(mark) ? a.slice(mark.length) : a));
    const r = super.parseOptions(argv.map(hide));
    return { operands: show(r.operands), unknown: show(r.unknown) };
  }
}

function infoText(i: ImageInfo): string {
  const rows: Array<[string, string]> = [
    ["file", i.filename],
    ["format", i.format],
    ["virtual size", `${i["virtual-size-human"]} (${i["virtual-size"]} bytes)`],
    ["disk size", i["actual-size"] === undefined ? "unknown" : `${i["actual-size-human"]} (${i["actual-size"]} bytes)`],
  ];
  if (i["cluster-size"] !== undefined) rows.push(["cluster size", humanSize(i["cluster-size"])]);
  if (i["backing-filename"])
    rows.push(["backing file", `${i["full-backing-filename"] ?? i["backing-filename"]}${i["backing-format"] ? ` (${i["backing-format"]})` : ""}`]);
  if (i["dirty-flag"] !== undefined) rows.push(["dirty", i["dirty-flag"] ? "yes" : "no"]);
  if (i.snapshots) rows.push(["snapshots", String(i.snapshots.length)]);
  if (i.force_share) rows.push(["note", "in use by a running process; read with force-share, sizes may be changing"]);
  const snaps = (i.snapshots ?? []).map((s) => `  ${s.id.padEnd(4)} ${s.name.padEnd(20)} ${s["vm-state-size-human"].padStart(10)}  ${s.date}\n`);
  return table(rows) + (snaps.length ? `  ${"ID".padEnd(4)} ${"NAME".padEnd(20)} ${"VM STATE".padStart(10)}  DATE\n${snaps.join("")}` : "");
}

function table(rows: Array<[string, string]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join("");
}
