import { describe, expect, it } from "vitest";
import { filterDumpIds, parseInfoNetwork } from "../../src/monitor/nics.js";
import { parseHeadOutput, parseProcStat, parseVmRss } from "../../src/monitor/proc.js";

describe("/proc parsers", () => {
  // fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ... starttime (22)
  const stat = (comm: string) =>
    `4242 (${comm}) S 1 4241 4241 0 -1 4194560 7064 0 0 0 1234 567 0 0 20 0 5 0 987654 1234567 9000 18446744073709551615\n`;

  it("reads utime + stime and the start time, even when the command name holds spaces and parentheses", () => {
    expect(parseProcStat(stat("qemu-system-x86"))).toEqual({ ticks: 1801, startTime: 987654, state: "S" });
    expect(parseProcStat(stat("CPU 0/TCG"))).toEqual({ ticks: 1801, startTime: 987654, state: "S" });
    expect(parseProcStat(stat("a) S 9 9 (b"))).toEqual({ ticks: 1801, startTime: 987654, state: "S" });
    expect(parseProcStat(stat("qemu").replace(") S ", ") Z ")).state).toBe("Z");
  });

  it("rejects a line it cannot read", () => {
    expect(() => parseProcStat("garbage")).toThrow(/unexpected \/proc stat/);
  });

  it("reads VmRSS in bytes", () => {
    expect(parseVmRss("Name:\tqemu\nVmPeak:\t  99 kB\nVmRSS:\t   36940 kB\nRssAnon:\t 1 kB\n")).toBe(36940 * 1024);
    expect(() => parseVmRss("Name:\tkthreadd\n")).toThrow(/VmRSS/);
  });
});

describe("info network", () => {
  it("pairs each NIC with its backend, skipping filters and NIC-less netdevs", () => {
    const text = [
      "nic0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56",
      " \\ net0: index=0,type=user,net=10.0.2.0,restrict=off",
      "filters:",
      "  - qfmon-abc-1-1-net0-tx: type=filter-dump,file=/x.pcap,maxlen=64,position=tail,status=on,insert=behind,netdev=net0,queue=tx",
      "nic1: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:57",
      " \\ t0: index=0,type=tap,ifname=tap7,script=/etc/qemu-ifup,downscript=/etc/qemu-ifdown",
      "nic2: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:58",
      " \\ s0: index=0,type=socket,listen=:1234",
      "lonely: index=0,type=user,net=10.0.3.0,restrict=off",
      "",
    ].join("\r\n");
    expect(parseInfoNetwork(text)).toEqual([
      { nic: "nic0", netdev: "net0", type: "user" },
      { nic: "nic1", netdev: "t0", type: "tap", ifname: "tap7" },
      { nic: "nic2", netdev: "s0", type: "other" },
    ]);
    expect(filterDumpIds(text)).toEqual(["qfmon-abc-1-1-net0-tx"]);
    expect(filterDumpIds("nic0: index=0,type=nic\r\n \\ net0: index=0,type=user\r\n")).toEqual([]);
  });
});

describe("head -v output", () => {
  it("splits the text of each file by its header; a file head could not read is absent", () => {
    const out =
      "==> /proc/1/stat <==\n1 (init) S 0\n\n==> /proc/1/status <==\nName:\tinit\nVmRSS:\t 10 kB\n\n==> /proc/self/stat <==\n9 (head) R 1\n";
    const files = parseHeadOutput(out);
    expect([...files.keys()]).toEqual(["/proc/1/stat", "/proc/1/status", "/proc/self/stat"]);
    expect(files.get("/proc/1/stat")).toBe("1 (init) S 0");
    expect(files.get("/proc/1/status")).toBe("Name:\tinit\nVmRSS:\t 10 kB");
    expect(parseHeadOutput("")).toEqual(new Map());
  });
});
