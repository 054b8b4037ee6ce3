import { describe, expect, it } from "vitest";
import { humanSize, parseSize } from "../../src/units.js";

describe("parseSize", () => {
  it("reads binary units the way QEMU does", () => {
    expect(parseSize("512M")).toBe(512 * 2 ** 20);
    expect(parseSize("2G")).toBe(2 * 2 ** 30);
    expect(parseSize("2GiB")).toBe(2 * 2 ** 30);
    expect(parseSize("2gb")).toBe(2 * 2 ** 30);
    expect(parseSize("4096M")).toBe(4 * 2 ** 30);
    expect(parseSize("1.5G")).toBe(1.5 * 2 ** 30);
    expect(parseSize("1048576")).toBe(2 ** 20);
    expect(parseSize(4096)).toBe(4096);
  });
  it("refuses what is not a size", () => {
    for (const bad of ["", "G", "2X", "-1G", "two", "5iB", "1e3"]) expect(parseSize(bad), bad).toBeNull();
    expect(parseSize(-1)).toBeNull();
    expect(parseSize(1.5)).toBeNull();
  });
});

describe("humanSize", () => {
  it("prints binary multiples with one decimal, as the reference does", () => {
    expect(humanSize(107374182400)).toBe("100.0 GB");
    expect(humanSize(4521984000)).toBe("4.2 GB");
    expect(humanSize(512)).toBe("512.0 B");
    expect(humanSize(1536)).toBe("1.5 KB");
  });
});
