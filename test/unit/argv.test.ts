import { describe, expect, it } from "vitest";
import { buildArgv, hostForwards, qemuEscape } from "../../src/qemu/argv.js";
import { chooseAccel, type AccelFacts } from "../../src/qemu/accel.js";
import type { ResolvedVm } from "../../src/spec/defaults.js";
import { instancePaths, socketPathProblem } from "../../src/state/paths.js";

const vm = (over: Partial<ResolvedVm> = {}): ResolvedVm => ({
  name: "web1",
  host: "local",
  arch: "x86_64",
  vcpus: 2,
  memory: 2 * 2 ** 30,
  state: "running",
  disks: [{ index: 0, path: "/vms/web1/disk0.qcow2", format: "qcow2", size: 2 ** 30, managed: true }],
  firmware: "bios",
  accel: "auto",
  forwards: [],
  protected: false,
  vmDir: "/vms",
  instanceDir: "/vms/web1",
  ...over,
});
const paths = instancePaths("/vms/web1");
const valueOf = (argv: string[], opt: string) => argv.filter((_, i) => argv[i - 1] === opt);

describe("buildArgv", () => {
  it("builds a daemonized q35 x86_64 VM with QMP, serial log, rng and a ROM-less NIC", () => {
    const a = buildArgv(vm({ ssh: { port: 2222 }, forwards: [{ host: 8080, guest: 80, proto: "tcp" }] }), { accel: "tcg", paths });
    expect(a[0]).toBe("qemu-system-x86_64");
    expect(valueOf(a, "-machine")).toEqual(["q35"]);
    expect(valueOf(a, "-accel")).toEqual(["tcg"]);
    expect(a).not.toContain("-cpu");
    expect(valueOf(a, "-smp")).toEqual(["2"]);
    expect(valueOf(a, "-m")).toEqual(["2048M"]);
    expect(a).toEqual(expect.arrayContaining(["-nodefaults", "-daemonize", "-no-user-config"]));
    expect(valueOf(a, "-display")).toEqual(["none"]);
    expect(valueOf(a, "-pidfile")).toEqual(["/vms/web1/qemu.pid"]);
    expect(valueOf(a, "-qmp")).toEqual(["unix:/vms/web1/qmp.sock,server=on,wait=off"]);
    expect(valueOf(a, "-name")).toEqual(["web1,process=qfleet-web1,debug-threads=on"]);
    expect(valueOf(a, "-chardev")).toEqual([
      "socket,id=qmpheld,path=/vms/web1/qmp2.sock,server=on,wait=off",
      "socket,id=serial0,path=/vms/web1/console.sock,server=on,wait=off,logfile=/vms/web1/serial.log,logappend=on",
      "socket,id=qga0,path=/vms/web1/qga.sock,server=on,wait=off",
    ]);
    expect(valueOf(a, "-mon")).toEqual(["chardev=qmpheld,mode=control"]); // a second QMP monitor, for a process that holds it
    expect(valueOf(a, "-serial")).toEqual(["chardev:serial0"]);
    expect(a).not.toContain("-vnc"); // no screen unless the spec asks for one
    expect(valueOf(a, "-device")).toContain("virtserialport,chardev=qga0,name=org.qemu.guest_agent.0");
    expect(valueOf(a, "-device")).toEqual(
      expect.arrayContaining(["virtio-rng-pci", "virtio-net-pci,netdev=net0,id=nic0,romfile=", "virtio-balloon-pci,id=balloon0"]),
    );
    expect(valueOf(a, "-netdev")).toEqual(["user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80"]);
    expect(valueOf(a, "-drive")[0]).toBe("file=/vms/web1/disk0.qcow2,if=none,id=disk0,format=qcow2,discard=unmap");
    expect(valueOf(a, "-device")).toContain("virtio-blk-pci,drive=disk0,id=vd0,bootindex=1");
  });

  it("attaches a cloud-init seed read-only on virtio, after the VM's own disks, only when the spec has one", () => {
    const seeded = buildArgv(vm({ cloudInit: { user: "qfleet", keys: [], instanceId: "i-1" } }), { accel: "tcg", paths });
    expect(valueOf(seeded, "-drive")).toContain("file=/vms/web1/seed.img,if=none,id=seed0,format=raw,readonly=on");
    expect(valueOf(seeded, "-device")).toContain("virtio-blk-pci,drive=seed0,id=vdseed");
    expect(valueOf(seeded, "-device").indexOf("virtio-blk-pci,drive=seed0,id=vdseed")).toBeGreaterThan(
      valueOf(seeded, "-device").indexOf("virtio-blk-pci,drive=disk0,id=vd0,bootindex=1"),
    );
    expect(valueOf(buildArgv(vm(), { accel: "tcg", paths }), "-drive").join(" ")).not.toContain("seed");
  });

  it("display: vnc adds a graphics card and a VNC server on a unix socket, never a TCP port", () => {
    const x86 = buildArgv(vm({ display: "vnc" }), { accel: "tcg", paths });
    expect(valueOf(x86, "-vnc")).toEqual(["unix:/vms/web1/vnc.sock"]);
    expect(valueOf(x86, "-device")).toContain("VGA,id=video0");
    const arm = buildArgv(vm({ arch: "aarch64", display: "vnc" }), { accel: "tcg", paths });
    expect(valueOf(arm, "-device")).toContain("virtio-gpu-pci,id=video0");
  });

  it("never binds a forward to every interface", () => {
    const a = buildArgv(vm({ ssh: { port: 2222 }, forwards: [{ host: 5353, guest: 53, proto: "udp" }] }), { accel: "tcg", paths });
    for (const rule of valueOf(a, "-netdev")[0].split(",hostfwd=").slice(1)) expect(rule).toMatch(/^(tcp|udp):127\.0\.0\.1:\d+-:\d+$/);
  });

  it("uses virt + cortex-a57 for aarch64 under TCG, host CPU under KVM, and UEFI pflash with a per-VM vars copy", () => {
    const arm = vm({ arch: "aarch64", firmware: "uefi" });
    const uefi = { code: "/usr/share/AAVMF/AAVMF_CODE.fd", vars: paths.uefiVars };
    const tcg = buildArgv(arm, { accel: "tcg", paths, uefi });
    expect(tcg[0]).toBe("qemu-system-aarch64");
    expect(valueOf(tcg, "-machine")).toEqual(["virt"]);
    expect(valueOf(tcg, "-cpu")).toEqual(["cortex-a57"]);
    expect(valueOf(tcg, "-drive")).toEqual(
      expect.arrayContaining([
        "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd",
        "if=pflash,format=raw,unit=1,file=/vms/web1/uefi-vars.fd",
      ]),
    );
    expect(valueOf(tcg, "-device")).toContain("scsi-cd,drive=cd0,id=cdrom0,bus=scsi0.0,bootindex=2");
    expect(valueOf(buildArgv(arm, { accel: "kvm", paths, uefi }), "-cpu")).toEqual(["host"]);
  });

  it("boots a kernel directly and attaches the ISO as a CD-ROM after the disks", () => {
    const a = buildArgv(vm({ iso: "/iso/a,b.iso", boot: { kernel: "/k/vmlinuz", initrd: "/k/initrd", append: "console=ttyS0 quiet" } }), {
      accel: "tcg",
      paths,
    });
    expect(valueOf(a, "-kernel")).toEqual(["/k/vmlinuz"]);
    expect(valueOf(a, "-initrd")).toEqual(["/k/initrd"]);
    expect(valueOf(a, "-append")).toEqual(["console=ttyS0 quiet"]);
    expect(valueOf(a, "-drive")).toContain("if=none,id=cd0,media=cdrom,readonly=on,file=/iso/a,,b.iso,format=raw");
    expect(valueOf(a, "-device")).toContain("ide-cd,drive=cd0,id=cdrom0,bus=ide.0,bootindex=2");
  });

  it("escapes commas in paths the way QEMU's option parser needs", () => {
    expect(qemuEscape("/a,b/c")).toBe("/a,,b/c");
    const a = buildArgv(vm({ disks: [{ index: 0, path: "/x,y/d.raw", format: "raw", managed: false }] }), { accel: "tcg", paths });
    expect(valueOf(a, "-drive")[0]).toBe("file=/x,,y/d.raw,if=none,id=disk0,format=raw,discard=unmap");
  });

  it("lists forward rules with the ssh port first", () => {
    expect(hostForwards(vm({ ssh: { port: 2200 }, forwards: [{ host: 8000, guest: 80, proto: "tcp" }] }))).toEqual([
      "tcp:127.0.0.1:2200-:22",
      "tcp:127.0.0.1:8000-:80",
    ]);
  });
});

describe("socket path length", () => {
  it("is refused over 107 bytes with a message naming the fix", () => {
    expect(socketPathProblem(instancePaths("/vms/web1"))).toBeNull();
    const msg = socketPathProblem(instancePaths("/" + "d".repeat(100) + "/web1"));
    expect(msg).toMatch(/at most 107/);
    expect(msg).toMatch(/QFLEET_VM_DIR/);
  });
});

describe("chooseAccel", () => {
  const facts = (over: Partial<AccelFacts> = {}): AccelFacts => ({
    os: "linux",
    arch: "x86_64",
    kvmDevice: true,
    kvmModules: ["kvm", "kvm_intel"],
    ...over,
  });
  it("takes KVM only with a real backend", () => {
    expect(chooseAccel("x86_64", "auto", undefined, facts()).accel).toBe("kvm");
    expect(chooseAccel("x86_64", "auto", undefined, facts({ kvmModules: ["kvm", "kvm_amd"] })).accel).toBe("kvm");
  });
  it("chooses TCG on kvm_pvm and says why", () => {
    const c = chooseAccel("x86_64", "auto", undefined, facts({ kvmModules: ["kvm", "kvm_pvm"] }));
    expect(c.accel).toBe("tcg");
    expect(c.reason).toMatch(/kvm_pvm/);
  });
  it("chooses TCG without a usable /dev/kvm, for a foreign arch, and off Linux/macOS", () => {
    expect(chooseAccel("x86_64", "auto", undefined, facts({ kvmDevice: false })).reason).toMatch(/\/dev\/kvm/);
    expect(chooseAccel("aarch64", "auto", undefined, facts()).accel).toBe("tcg");
    expect(chooseAccel("x86_64", "auto", undefined, facts({ os: "other" })).accel).toBe("tcg");
  });
  it("uses KVM on aarch64 Linux and HVF on macOS for the host's own arch", () => {
    expect(chooseAccel("aarch64", "auto", undefined, facts({ arch: "aarch64", kvmModules: ["kvm"] })).accel).toBe("kvm");
    expect(chooseAccel("aarch64", "auto", undefined, facts({ os: "darwin", arch: "aarch64", kvmDevice: false, kvmModules: [] })).accel).toBe("hvf");
  });
  it("lets an explicit setting win: spec first, then the host entry", () => {
    expect(chooseAccel("x86_64", "kvm", "tcg", facts({ kvmModules: ["kvm_pvm"] })).accel).toBe("kvm");
    expect(chooseAccel("x86_64", "auto", "tcg", facts()).accel).toBe("tcg");
  });
});
