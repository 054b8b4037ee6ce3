import * as z from "zod";
import { parseSize, SIZE_FORMAT_HELP } from "../units.js";

/**
 * The small value types specs are made of. Each one keeps a JSON-Schema-representable input
 * side (string patterns, enums, integer ranges) so the generated schema stays useful to
 * editors; conversions (sizes to bytes, arm64 to aarch64) happen in transforms after it.
 */

/** VM and host names: safe as a file name and inside any shell word. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const NAME_HELP = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 63 characters";

export const Name = z.string().regex(NAME_RE, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid name: use ${NAME_HELP}` });

/** A path: no NUL or line break, and no leading '~' (it is never expanded). */
const PATH_RE = /^[^~\u0000\n\r][^\u0000\n\r]*$/;
export const Path = z.string().regex(PATH_RE, {
  error: (iss) => {
    const s = String(iss.input);
    if (s === "") return "must not be empty";
    if (s.startsWith("~")) return "'~' is not expanded: write an absolute path or one relative to the spec file";
    return "a path must not contain NUL or line breaks";
  },
});

/** Absolute paths only (hosts.yaml vm_dir lives on the remote machine). */
export const AbsPath = z.string().regex(/^\/[^\u0000\n\r]*$/, { error: "expected an absolute path (starting with /)" });

const SIZE_PATTERN = /^\s*\d+(\.\d+)?\s*[KMGTPkmgtp]?([iI]?[bB])?\s*$/;

/** A size in bytes: "512M", "2G", "2GiB", "4096M" or a plain number of bytes. Binary units. */
export const Size = z
  .union([z.string().regex(SIZE_PATTERN, { error: `expected ${SIZE_FORMAT_HELP}` }), z.int().min(0)], {
    error: `expected ${SIZE_FORMAT_HELP}`,
  })
  .transform((v, ctx) => {
    const bytes = parseSize(v);
    if (bytes === null) {
      ctx.issues.push({ code: "custom", message: `expected ${SIZE_FORMAT_HELP}`, input: v });
      return z.NEVER;
    }
    return bytes;
  });

export const Port = z.int().min(1).max(65535).describe("a TCP/UDP port, 1..65535");

export const Arch = z
  .enum(["x86_64", "aarch64", "arm64"])
  .transform((a): "x86_64" | "aarch64" => (a === "arm64" ? "aarch64" : a))
  .describe("guest CPU architecture; arm64 is an alias of aarch64");
export type Arch = z.output<typeof Arch>;

export const Accel = z.enum(["auto", "kvm", "hvf", "tcg"]).describe("accelerator; auto picks kvm/hvf when usable, else tcg");
export type Accel = z.output<typeof Accel>;

/** An environment variable name (hosts.yaml names secrets, never holds them). */
export const EnvName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "expected an environment variable name such as LAB_PASSWORD" });
