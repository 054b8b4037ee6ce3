#!/usr/bin/env node
// `npm run demo`: boots the tiny demo guest declared in vms/demo.yaml and waits for its SSH,
// whatever a previous run left: no instance yet, a VM that stopped or was killed, or one that
// `qfleet stop demo` stopped (which writes state: stopped into vms/demo.yaml).
// Runs after scripts/setup.sh (QEMU and npm dependencies installed). Steps: build the guest
// image if missing, `qfleet validate`, `qfleet start demo`, `qfleet status demo --wait-ssh`,
// then say what it did, how to log in and how to stop it.
//
// Why `qfleet start demo`: it is the declarative start, the same command a person types. It
// writes state: running into vms/demo.yaml (comments kept) and reconciles that VM. The committed
// file says state: running, so after any stop the file is back to its committed text, and
// when it already says running nothing is written at all: the clone's tracked files are left
// as they were committed. Nothing is hidden from the spec (no override, no second spec).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "qfleet.mjs");
const spec = path.join(root, "vms", "demo.yaml");
const step = (msg) => process.stderr.write(`\n==> ${msg}\n`);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;
const json = (args) => {
  const r = spawnSync("node", [cli, ...args, "--json"], { cwd: root, encoding: "utf8" });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return {};
  }
};

step("building the tiny demo guest (cached after the first time)");
if (run("bash", ["scripts/build-guest.sh", "x86_64"]) !== 0) process.exit(1);

step("qfleet validate");
if (run("node", [cli, "validate"]) !== 0) process.exit(1);

const said = parse(readFileSync(spec, "utf8"))?.state ?? "running";
const before = json(["status", "demo"]);
step(`qfleet start demo (vms/demo.yaml says state: ${said}; the VM is ${before.status ?? "unknown"})`);
const started = run("node", [cli, "start", "demo"]);
if (started !== 0) process.exit(started);

const wrote =
  said === "running"
    ? ""
    : `; vms/demo.yaml said state: ${said} (as \`qfleet stop demo\` writes), and \`qfleet start demo\` wrote state: running back: the committed text`;
const did =
  before.status === "not-created"
    ? `created the demo VM and started it${wrote}`
    : before.status === "running"
      ? `${before.in_sync || wrote ? "the demo VM was already running" : "the demo VM was running: updated it to match vms/demo.yaml"}${wrote}`
      : `started the demo VM (it was ${before.status ?? "not running"})${wrote}`;

step("qfleet status demo --wait-ssh 180 (the guest boots in a few seconds, longer under heavy load)");
const st = run("node", [cli, "status", "demo", "--wait-ssh", "180"]);

const key = path.relative(process.cwd(), path.join(root, ".cache", "guest", "x86_64", "id_ed25519")) || ".";
process.stdout.write(`
Done: ${did}.
The demo VM ${st === 0 ? "is up" : "was started but SSH did not answer in time (see qfleet status demo)"}.
  log in:   ssh -i ${key} -p 2222 root@localhost        (or password: qfleet)
  status:   npx qfleet status demo
  list:     npx qfleet list
  stop:     npx qfleet stop demo                      (writes state: stopped into vms/demo.yaml; npm run demo writes running back)
  remove:   set state: absent in vms/demo.yaml, then npx qfleet reconcile
`);
process.exit(st);
