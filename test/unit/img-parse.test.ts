import { describe, expect, it } from "vitest";
import { isQfleetError } from "../../src/errors.js";
import {
  classifyImgError,
  computeNewSize,
  firstErrorLine,
  parseInfoJson,
  parseProgress,
  progressReader,
  withSuffix,
} from "../../src/qemu/img-parse.js";

// Captured from qemu-img 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18) on the build machine.
const RAW_INFO = `{
    "virtual-size": 4194304,
    "filename": "base.raw",
    "format": "raw",
    "actual-size": 1048576,
    "dirty-flag": false
}
`;

const OVERLAY_WITH_SNAPSHOT_INFO = `{
    "backing-filename-format": "raw",
    "snapshots": [
        {
            "icount": 0,
            "vm-clock-nsec": 0,
            "name": "before-upgrade",
            "date-sec": 1795265736,
            "date-nsec": 858198000,
            "vm-clock-sec": 0,
            "id": "1",
            "vm-state-size": 0
        }
    ],
    "virtual-size": 4194304,
    "filename": "overlay.qcow2",
    "cluster-size": 65536,
    "format": "qcow2",
    "actual-size": 208896,
    "format-specific": {
        "type": "qcow2",
        "data": {
            "compat": "1.1",
            "compression-type": "zlib",
            "lazy-refcounts": false,
            "refcount-bits": 16,
            "corrupt": false,
            "extended-l2": false
        }
    },
    "full-backing-filename": "/tmp/fx/base.raw",
    "backing-filename": "/tmp/fx/base.raw",
    "dirty-flag": false
}
`;

// `qemu-img convert -p` stdout, exactly as written (a 64 MiB image; the middle steps trimmed).
const PROGRESS_STDOUT = "    (0.00/100%)\r    (6.25/100%)\r    (12.50/100%)\r    (18.75/100%)\r    (100.00/100%)\r    (100.00/100%)\r\n";

const LOCK_INFO_STDERR = `qemu-img: Could not open 'overlay.qcow2': Failed to get shared "write" lock
Is another process using the image [overlay.qcow2]?
`;
const LOCK_RESIZE_STDERR = `qemu-img: Could not open 'overlay.qcow2': Failed to get "write" lock
Is another process using the image [overlay.qcow2]?
`;
const SHRINK_STDERR = `qemu-img: Use the --shrink option to perform a shrink operation.
qemu-img: warning: Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.
`;

describe("parseInfoJson", () => {
  it("keeps qemu-img's fields and adds human sizes (raw)", () => {
    expect(parseInfoJson(RAW_INFO)).toEqual({
      filename: "base.raw",
      format: "raw",
      "virtual-size": 4194304,
      "virtual-size-human": "4.0 MB",
      "actual-size": 1048576,
      "actual-size-human": "1.0 MB",
      "dirty-flag": false,
    });
  });

  it("reads backing file, backing format, cluster size and snapshots (qcow2 overlay)", () => {
    const info = parseInfoJson(OVERLAY_WITH_SNAPSHOT_INFO);
    expect(info).toMatchObject({
      filename: "overlay.qcow2",
      format: "qcow2",
      "virtual-size": 4194304,
      "actual-size": 208896,
      "actual-size-human": "204.0 KB",
      "backing-filename": "/tmp/fx/base.raw",
      "full-backing-filename": "/tmp/fx/base.raw",
      "backing-format": "raw",
      "cluster-size": 65536,
      "dirty-flag": false,
    });
    expect(info.snapshots).toEqual([
      {
        id: "1",
        name: "before-upgrade",
        "vm-state-size": 0,
        "vm-state-size-human": "0.0 B",
        date: new Date(1795265736858).toISOString(),
        "vm-clock-sec": 0,
      },
    ]);
    expect(info).not.toHaveProperty("format-specific");
    expect(info).not.toHaveProperty("force_share");
  });

  it("omits what qemu-img did not report", () => {
    const info = parseInfoJson(`{"virtual-size": 512, "filename": "x", "format": "raw"}`);
    expect(Object.keys(info).sort()).toEqual(["filename", "format", "virtual-size", "virtual-size-human"]);
  });

  it("rejects output that is not an image description", () => {
    for (const bad of ["", "not json", "{}", `{"format": "raw"}`]) {
      const e = catchErr(() => parseInfoJson(bad));
      expect(e.code, bad).toBe("COMMAND_FAILED");
    }
  });
});

describe("parseProgress", () => {
  it("reads every percentage from a whole stdout", () => {
    expect(parseProgress(PROGRESS_STDOUT)).toEqual({ percents: [0, 6.25, 12.5, 18.75, 100, 100], rest: "" });
  });

  it("carries a chunk split mid-number over to the next call", () => {
    let rest = "";
    const seen: number[] = [];
    for (const chunk of ["    (0.00/100%)\r    (45", ".00/1", "00%)\r", "    (100.00/100%)\r\n"]) {
      const r = parseProgress(rest + chunk);
      rest = r.rest;
      seen.push(...r.percents);
    }
    expect(seen).toEqual([0, 45, 100]);
    expect(rest).toBe("");
  });

  it("keeps no unbounded tail from unrelated output", () => {
    expect(parseProgress("x".repeat(10_000)).rest).toBe("");
    expect(parseProgress(`(${"x".repeat(100)}`).rest.length).toBeLessThanOrEqual(32);
  });
});

describe("progressReader", () => {
  it("reports each higher percentage once, across chunk boundaries", () => {
    const seen: number[] = [];
    const feed = progressReader((p) => seen.push(p))!;
    for (const chunk of PROGRESS_STDOUT.match(/[\s\S]{1,7}/g)!) feed(chunk);
    expect(seen).toEqual([0, 6.25, 12.5, 18.75, 100]);
    expect(progressReader(undefined)).toBeUndefined();
  });
});

describe("classifyImgError", () => {
  it("recognises the failures qfleet explains", () => {
    expect(classifyImgError(LOCK_INFO_STDERR)).toBe("locked");
    expect(classifyImgError(LOCK_RESIZE_STDERR)).toBe("locked");
    expect(classifyImgError(SHRINK_STDERR)).toBe("needs-shrink");
    expect(classifyImgError("qemu-img: Unknown file format 'foo'\n")).toBe("unknown-format");
    expect(classifyImgError("qemu-img: Could not open '/tmp/fx/nope.qcow2': Could not open '/tmp/fx/nope.qcow2': No such file or directory\n")).toBe(
      "not-found",
    );
    expect(classifyImgError("qemu-img: Could not open 'base.raw': Image is not in qcow2 format\n")).toBe("wrong-format");
    expect(classifyImgError("qemu-img: Image format driver does not support resize\n")).toBe("unsupported");
    expect(classifyImgError("qemu-img: The new size must be a multiple of 512\n")).toBe("bad-size");
    expect(classifyImgError("qemu-img: Could not open '/tmp': 'file' driver requires '/tmp' to be a regular file\n")).toBe("not-a-file");
    expect(
      classifyImgError(
        "qemu-img: Could not open 'ovg.qcow2': Could not open backing file: Could not open '/tmp/cap/gone.raw': No such file or directory\n",
      ),
    ).toBe("backing-missing");
    expect(classifyImgError("qemu-img: something new\n")).toBe("other");
  });

  it("firstErrorLine drops the prefix and warnings", () => {
    expect(firstErrorLine(SHRINK_STDERR)).toBe("Use the --shrink option to perform a shrink operation.");
    expect(firstErrorLine("qemu-img: warning: x\nqemu-img: real problem\n")).toBe("real problem");
    expect(firstErrorLine("")).toBe("");
  });
});

describe("computeNewSize", () => {
  const G = 2 ** 30;
  it("grows, shrinks and sets", () => {
    expect(computeNewSize(20 * G, "+10G")).toBe(30 * G);
    expect(computeNewSize(20 * G, "-5G")).toBe(15 * G);
    expect(computeNewSize(20 * G, "100G")).toBe(100 * G);
    expect(computeNewSize(20 * G, "512M")).toBe(512 * 2 ** 20);
  });
  it("refuses what is not a size, and sizes that leave nothing", () => {
    for (const bad of ["", "+", "-", "abc", "10X", "+-5G", "-20G", "-30G", "0"]) {
      expect(catchErr(() => computeNewSize(20 * G, bad)).code, bad).toBe("BAD_INPUT");
    }
  });
});

describe("withSuffix", () => {
  it("replaces the last extension", () => {
    expect(withSuffix("/a/disk.qcow2", "-overlay", ".qcow2")).toBe("/a/disk-overlay.qcow2");
    expect(withSuffix("/a/disk.vmdk", "", ".raw")).toBe("/a/disk.raw");
    expect(withSuffix("/a.b/disk", "", ".raw")).toBe("/a.b/disk.raw");
    expect(withSuffix("/a/.hidden", "", ".raw")).toBe("/a/.hidden.raw");
    expect(withSuffix("/a/x.tar.gz", "", ".raw")).toBe("/a/x.tar.raw");
  });
});

function catchErr(fn: () => unknown) {
  try {
    fn();
  } catch (e) {
    if (isQfleetError(e)) return e;
    throw e;
  }
  throw new Error("expected a QfleetError");
}
