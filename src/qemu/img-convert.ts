import { randomBytes } from "node:crypto";
import path from "node:path";
import { QfleetError } from "../errors.js";
import type { Host } from "../hosts/host.js";
import { busy, cleanOnFailure, imgFailure, requireFolder, runImg } from "./img-errors.js";
import { progressReader, withSuffix } from "./img-parse.js";
import { absPath, imageInfo } from "./img-info.js";

export const OUTPUT_FORMATS = ["raw", "qcow2", "vmdk", "vdi", "vhdx"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ConvertOptions {
  input: string;
  format: string;
  /** Default: beside the input, same base name, the format's extension (.raw, .qcow2, ...). */
  output?: string;
  /** Replace an existing output (it is only replaced once the new one is complete). */
  force?: boolean;
  /** Percentages 0..100 in increasing order, as qemu-img -p reports them. */
  onProgress?: (percent: number) => void;
  /** Aborting stops qemu-img; nothing is left at the output path. */
  signal?: AbortSignal;
  /** Default 24 h. */
  timeoutMs?: number;
}

export interface ConvertResult {
  success: true;
  input_path: string;
  input_format: string;
  output_path: string;
  output_format: OutputFormat;
  /** Virtual size of the output, human ("100.0 GB"), as the reference reports it. */
  output_size: string;
  output_virtual_size: number;
  /** Bytes the output occupies on disk. */
  output_actual_size?: number;
}

/**
 * `qemu-img convert -p -f IN_FORMAT -O FORMAT`. The input format is detected and passed
 * explicitly. The output is written in a private folder beside the output path under its final
 * file name (vmdk descriptors embed it) and renamed into place only when complete: a failed or
 * interrupted convert leaves nothing at the output path, and `force` keeps the old file until then.
 */
export async function convertImage(host: Host, opts: ConvertOptions): Promise<ConvertResult> {
  const format = opts.format as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) {
    throw new QfleetError("BAD_INPUT", `unknown output format "${opts.format}": use one of ${OUTPUT_FORMATS.join(", ")}`);
  }
  const input = absPath(opts.input);
  const info = await imageInfo(host, input);
  if (info.force_share) throw busy(input);
  const output = opts.output ? absPath(opts.output) : withSuffix(input, "", `.${format}`);
  if (output === input) {
    throw new QfleetError("BAD_INPUT", `the output would overwrite the input (${input})`, { hint: "choose another path with --output" });
  }
  const existing = await host.stat(output);
  if (existing?.kind === "dir") throw new QfleetError("BAD_INPUT", `${output} is a folder; give a file name with --output`);
  if (existing && !opts.force) throw new QfleetError("EXISTS", `${output} already exists`, { hint: "use --force to overwrite" });
  await requireFolder(host, output);

  const staging = `${path.posix.dirname(output)}/.qfleet-convert-${randomBytes(4).toString("hex")}`;
  const staged = `${staging}/${path.posix.basename(output)}`;
  const args = ["convert", "-p", "-f", info.format, "-O", format, input, staged];
  await host.mkdir(staging, { mode: 0o700 });
  await cleanOnFailure(
    host,
    staging,
    async () => {
      const r = await runImg(host, args, {
        onStdout: progressReader(opts.onProgress),
        signal: opts.signal,
        timeoutMs: opts.timeoutMs ?? 86_400_000,
      }).catch((e: unknown) => {
        if (opts.signal?.aborted) return null;
        throw e;
      });
      if (opts.signal?.aborted || r === null) {
        throw new QfleetError("COMMAND_FAILED", `convert of ${input} was interrupted; ${output} was not written`);
      }
      if (r.exitCode !== 0) throw imgFailure(["qemu-img", ...args], r, input);
      await host.rename(staged, output);
    },
    { recursive: true },
  );
  await host.remove(staging, { recursive: true });
  const out = await imageInfo(host, output);
  return {
    success: true,
    input_path: input,
    input_format: info.format,
    output_path: output,
    output_format: format,
    output_size: out["virtual-size-human"],
    output_virtual_size: out["virtual-size"],
    ...(out["actual-size"] !== undefined && { output_actual_size: out["actual-size"] }),
  };
}
