import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QfleetError } from "../../src/errors.js";
import { LocalHost } from "../../src/hosts/local.js";
import { formatIssue, loadFleet } from "../../src/spec/load.js";
import { removeSpec, writeSpec } from "../../src/spec/write.js";

const host = new LocalHost();
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function fleet(files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "qfleet-write-"));
  dirs.push(dir);
  await mkdir(join(dir, "vms"));
  for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text);
  return dir;
}

async function rejection(p: Promise<unknown>): Promise<QfleetError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QfleetError);
  return e as QfleetError;
}

const ODD = `# yaml-language-server: $schema=../schemas/vm.schema.json
# The web server.   Keep it small.

name:    web1        # must match the file name
memory:  "1G"        # quoted on purpose
vcpus: 2


disks:
    -   size: 10G    # data
        format: raw
ssh: {port: 2222}    # flow style
# a closing comment
`;

describe("writeSpec", () => {
  it("adds a key and keeps every comment, the key order and the formatting", async () => {
    const dir = await fleet({ "vms/web1.yaml": ODD });
    const r = await writeSpec(host, dir, "web1", { state: "stopped" });
    const expected = ODD.replace("ssh: {port: 2222}    # flow style\n", "ssh: {port: 2222}    # flow style\nstate: stopped\n");
    expect(r).toEqual({ file: join(dir, "vms/web1.yaml"), created: false, text: expected });
    expect(await readFile(join(dir, "vms/web1.yaml"), "utf8")).toBe(expected);
  });

  it("replaces values in place, nested ones by dotted keys, keeping quotes and comments", async () => {
    const dir = await fleet({ "vms/web1.yaml": ODD });
    const r = await writeSpec(host, dir, "web1", { memory: "2G", "ssh.port": 2223, "disks.0.size": "20G" });
    expect(r.text).toBe(ODD.replace('"1G"', '"2G"').replace("{port: 2222}", "{port: 2223}").replace("size: 10G    # data", "size: 20G    # data"));
  });

  it("switches state back and forth without drift", async () => {
    const dir = await fleet({ "vms/web1.yaml": ODD });
    await writeSpec(host, dir, "web1", { state: "stopped" });
    await writeSpec(host, dir, "web1", { state: "running" });
    const r = await writeSpec(host, dir, "web1", { state: undefined });
    expect(r.text).toBe(ODD);
  });

  it("deletes keys given as null or undefined", async () => {
    const dir = await fleet({ "vms/web1.yaml": ODD });
    const r = await writeSpec(host, dir, "web1", { ssh: null, vcpus: undefined });
    expect(r.text).toBe(ODD.replace("vcpus: 2\n", "").replace("ssh: {port: 2222}    # flow style\n", ""));
  });

  it("creates a missing spec that starts with the $schema line and validates", async () => {
    const dir = await fleet();
    const r = await writeSpec(host, dir, "db", { memory: "4G", vcpus: 4, "ssh.port": 2230, disks: [{ size: "20G" }] });
    expect(r.created).toBe(true);
    expect(r.file).toBe(join(dir, "vms/db.yaml"));
    expect(r.text).toBe(
      "# yaml-language-server: $schema=../schemas/vm.schema.json\n" + "name: db\nmemory: 4G\nvcpus: 4\nssh:\n  port: 2230\ndisks:\n  - size: 20G\n",
    );
    const loaded = await loadFleet(host, dir);
    expect(loaded.issues).toEqual([]);
    expect(loaded.specs[0].spec).toMatchObject({ name: "db", vcpus: 4, memory: 4 * 2 ** 30, ssh: { port: 2230 } });
  });

  it("creates vms/ when the folder has none", async () => {
    const dir = await mkdtemp(join(tmpdir(), "qfleet-write-"));
    dirs.push(dir);
    await writeSpec(host, dir, "first", { state: "stopped" });
    expect(await readdir(join(dir, "vms"))).toEqual(["first.yaml"]);
  });

  it("refuses an invalid change with located problems and leaves the file byte-for-byte", async () => {
    const dir = await fleet({ "vms/web1.yaml": ODD });
    const err = await rejection(writeSpec(host, dir, "web1", { memory: "2X", vcpus: 0, colour: "red" }));
    expect(err.code).toBe("INVALID_SPEC");
    expect(err.message).toBe(
      [
        "vms/web1.yaml: the change would make the spec invalid, so nothing was written:",
        "  vms/web1.yaml:5:10: memory: expected a size such as 512M, 2G, 2GiB, 4096M or a plain number of bytes",
        "  vms/web1.yaml:6:8: vcpus: must be at least 1, got 0",
        "  vms/web1.yaml:13:1: colour: unknown key 'colour'",
      ].join("\n"),
    );
    expect(await readFile(join(dir, "vms/web1.yaml"), "utf8")).toBe(ODD);
    expect(await readdir(join(dir, "vms"))).toEqual(["web1.yaml"]);
  });

  it("refuses a host port another VM on the same host already claims", async () => {
    const dir = await fleet({ "vms/web1.yaml": ODD, "vms/db.yaml": "ssh:\n  port: 2230\n" });
    const err = await rejection(writeSpec(host, dir, "db", { "ssh.port": 2222 }));
    expect(err.code).toBe("INVALID_SPEC");
    expect(err.message).toContain("  vms/db.yaml:2:9: ssh.port: host port 2222/tcp is also claimed by vms/web1.yaml (ssh.port) on host local");
    expect(await readFile(join(dir, "vms/db.yaml"), "utf8")).toBe("ssh:\n  port: 2230\n");
  });

  it("checks the paths a change sets, and only those", async () => {
    const dir = await fleet({ "vms/gold.yaml": "disks:\n  - path: /nowhere/golden.qcow2\n    overlay: true\n" });
    await expect(writeSpec(host, dir, "gold", { state: "stopped" })).resolves.toMatchObject({ created: false });
    const err = await rejection(writeSpec(host, dir, "gold", { iso: "/nowhere/x.iso" }));
    expect(err.message).toContain("vms/gold.yaml:5:6: iso: no such ISO image: /nowhere/x.iso");
  });

  it("refuses a host that hosts.yaml does not name", async () => {
    const dir = await fleet({ "hosts.yaml": "hosts:\n  lab:\n    address: 10.0.0.2\n" });
    const err = await rejection(writeSpec(host, dir, "x", { host: "lba" }));
    expect(err.message).toContain("vms/x.yaml:3:7: host: unknown host 'lba': use 'local' or a host from hosts.yaml (lab) (did you mean 'lab'?)");
    await expect(writeSpec(host, dir, "x", { host: "lab" })).resolves.toMatchObject({ created: true });
  });

  it("refuses to edit a file that is not valid YAML", async () => {
    const dir = await fleet({ "vms/bad.yaml": "memory: [1G\n" });
    const err = await rejection(writeSpec(host, dir, "bad", { state: "stopped" }));
    expect(err.code).toBe("INVALID_SPEC");
    expect(err.message).toMatch(/^vms\/bad.yaml is not valid YAML now; fix it by hand first:\n {2}vms\/bad.yaml:2:1: YAML syntax error/);
    expect(await readFile(join(dir, "vms/bad.yaml"), "utf8")).toBe("memory: [1G\n");
  });

  it("refuses names that are not VM names", async () => {
    const dir = await fleet();
    for (const bad of ["../x", "$(touch /tmp/x)", "a b"]) {
      expect((await rejection(writeSpec(host, dir, bad, {}))).code).toBe("BAD_INPUT");
      expect((await rejection(removeSpec(host, dir, bad))).code).toBe("BAD_INPUT");
    }
  });
});

describe("removeSpec", () => {
  it("removes the spec file (either extension) and says which", async () => {
    const dir = await fleet({ "vms/a.yml": "vcpus: 1\n", "vms/b.yaml": "vcpus: 1\n" });
    expect(await removeSpec(host, dir, "a")).toEqual([join(dir, "vms/a.yml")]);
    expect(await removeSpec(host, dir, "a")).toEqual([]);
    expect(await readdir(join(dir, "vms"))).toEqual(["b.yaml"]);
    expect((await loadFleet(host, dir)).issues.map(formatIssue)).toEqual([]);
  });
});
