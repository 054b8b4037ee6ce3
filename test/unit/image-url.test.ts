import { describe, expect, it } from "vitest";
import { cacheFiles, digestOfName } from "../../src/images/cache-dir.js";
import { progressLine, throttle, type ImageProgress } from "../../src/images/progress.js";
import { imageWant } from "../../src/images/want.js";
import { diffFields } from "../../src/plan/fields.js";
import { renderPlan } from "../../src/plan/render.js";
import { resolveVm } from "../../src/spec/defaults.js";
import { VmSpecSchema } from "../../src/spec/schema.js";

const URL = "https://images.example.org/debian-12-genericcloud-amd64.qcow2";
const H64 = "ab".repeat(32);
const H128 = "cd".repeat(64);
const problems = (input: unknown) => {
  const r = VmSpecSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};
const resolve = (disk: Record<string, unknown>, imageCache = "/home/ops/.cache/qemu-fleet/images") =>
  resolveVm({ ...VmSpecSchema.parse({ disks: [disk] }), name: "web1" }, { hostArch: "x86_64", envVmDir: "/vms", imageCache });

describe("disks from an image URL", () => {
  it("needs exactly one digest, located at the disk's image", () => {
    expect(problems({ disks: [{ image: URL, overlay: true }] })).toEqual([
      "disks.0.image: an image URL needs its digest: add sha256: <64 hex digits> or sha512: <128 hex digits> (the download is checked against it)",
    ]);
    expect(problems({ disks: [{ image: "file:///srv/golden.qcow2" }] })[0]).toMatch(/^disks.0.image: an image URL needs its digest/);
    expect(problems({ disks: [{ image: URL, sha256: H64, sha512: H128 }] })).toEqual(["disks.0.sha512: give one digest: sha256 or sha512, not both"]);
    expect(problems({ disks: [{ image: URL, sha256: "abc" }] })).toEqual(["disks.0.sha256: expected the image's sha256 digest: 64 hex digits"]);
    expect(problems({ disks: [{ size: "1G", sha256: H64 }] })).toEqual(["disks.0.sha256: a digest belongs to an image URL: add image:"]);
    expect(problems({ disks: [{ image: "ftp://x/y.img", sha256: H64 }] })[0]).toMatch(
      /^disks.0.image: expected an http:\/\/, https:\/\/ or file:\/\/ URL/,
    );
    expect(problems({ disks: [{ image: URL, path: "/a.qcow2", sha256: H64 }] })).toEqual([
      "disks.0.image: give either path (an image file on the host) or image (a URL to download), not both",
    ]);
    expect(problems({ disk: `image=${URL},sha256=${H64.toUpperCase()},overlay=true` })).toEqual([]);
  });

  it("resolves to the digest-named file in the VM host's cache: the overlay's base, or the source of the VM's own copy", () => {
    const overlay = resolve({ image: URL, sha256: H64.toUpperCase(), overlay: true, size: "10G" }).disks[0];
    const cached = `/home/ops/.cache/qemu-fleet/images/sha256-${H64}.img`;
    expect(overlay).toEqual({
      index: 0,
      path: "/vms/web1/disk0-overlay.qcow2",
      format: "qcow2",
      size: 10 * 2 ** 30,
      base: cached,
      managed: true,
      image: { url: URL, algo: "sha256", digest: H64, cached },
    });
    const copy = resolve({ image: URL, sha512: H128, format: "raw" }).disks[0];
    expect(copy).toMatchObject({ path: "/vms/web1/disk0.raw", format: "raw", managed: true, image: { algo: "sha512", digest: H128 } });
    expect(copy.base).toBeUndefined();
  });

  it("plans a new digest as another disk (replace), and shows the URL when creating", () => {
    const a = resolve({ image: URL, sha256: H64, overlay: true });
    const b = resolve({ image: URL, sha256: "ef".repeat(32), overlay: true });
    expect(diffFields(a, "tcg", b, "tcg").map((c) => [c.field, c.class])).toEqual([["disks.0", "replace"]]);
    expect(diffFields(a, "tcg", resolve({ image: `${URL}?mirror=2`, sha256: H64, overlay: true }), "tcg")).toEqual([]);
    const copyA = resolve({ image: URL, sha256: H64 });
    expect(diffFields(copyA, "tcg", resolve({ image: URL, sha256: "ef".repeat(32) }), "tcg")[0].class).toBe("replace");
    const text = renderPlan({
      actions: [
        {
          vm: "web1",
          host: "local",
          kind: "create",
          reason: "new",
          changes: [],
          desired: { vm: a, accel: { accel: "tcg", reason: "t" } },
          finalState: "running",
        },
      ],
      summary: { create: 1 },
    });
    expect(text).toContain(`+ disk 0: /vms/web1/disk0-overlay.qcow2 (qcow2, overlay of ${URL})`);
    expect(text).toContain(`sha256 ${H64.slice(0, 16)}..., cached as /home/ops/.cache/qemu-fleet/images/sha256-${H64}.img`);
  });
});

describe("the image cache's names and messages", () => {
  it("names files by digest and reads them back", () => {
    const f = cacheFiles("/c", "sha256", H64);
    expect(f).toEqual({
      image: `/c/sha256-${H64}.img`,
      meta: `/c/sha256-${H64}.json`,
      part: `/c/sha256-${H64}.img.part`,
      lock: `/c/.locks/sha256-${H64}.lock`,
    });
    expect(digestOfName(`sha256-${H64}.img`)).toEqual({ algo: "sha256", digest: H64, kind: "image" });
    expect(digestOfName(`sha512-${H128}.img.part`)?.kind).toBe("part");
    expect(digestOfName(`sha256-${H128}.img`)).toBeNull();
    expect(digestOfName("notes.txt")).toBeNull();
  });

  it("checks a URL and digest given as arguments as the schema does", () => {
    expect(imageWant(URL, { sha256: H64.toUpperCase() })).toEqual({ url: URL, algo: "sha256", digest: H64 });
    expect(() => imageWant(URL, {})).toThrow(/give its digest, sha256 or sha512 \(exactly one\)/);
    expect(() => imageWant(URL, { sha256: H64, sha512: H128 })).toThrow(/exactly one/);
    expect(() => imageWant("/srv/a.qcow2", { sha256: H64 })).toThrow(/not an http:\/\/, https:\/\/ or file:\/\/ URL/);
    expect(() => imageWant(URL, { sha512: H64 })).toThrow(/expected 128 hex digits/);
  });

  it("says where a download is, and passes reports on at most once a second plus the last", () => {
    const p: ImageProgress = { phase: "download", url: `${URL}?x=1`, host: "local", done: 9 * 2 ** 20, total: 18 * 2 ** 20, rate: 3 * 2 ** 20 };
    expect(progressLine(p)).toBe("downloading debian-12-genericcloud-amd64.qcow2: 50% (9.0 MB of 18.0 MB, 3.0 MB/s)");
    expect(progressLine({ ...p, phase: "upload", host: "lab1", total: undefined, rate: undefined })).toBe(
      "uploading debian-12-genericcloud-amd64.qcow2 to lab1: 9.0 MB",
    );
    expect(progressLine({ ...p, phase: "wait", host: "lab1" })).toBe(
      "waiting for another run's download of debian-12-genericcloud-amd64.qcow2 on lab1",
    );
    const seen: number[] = [];
    const t = throttle((x) => seen.push(x.done), 60_000);
    for (let i = 1; i <= 10; i++) t({ ...p, done: i, total: 10 });
    expect(seen).toEqual([1, 10]);
  });
});
