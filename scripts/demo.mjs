#!/usr/bin/env node
// `npm run demo`: boots the tiny demo guest declared in vms/demo.yaml and waits for its SSH.
// Runs after scripts/setup.sh (QEMU and npm dependencies installed). Steps: build the guest
// image if missing, `qfleet reconcile --only demo`, `qfleet status demo --wait-ssh`, then say
// how to log in and how to stop it.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "qfleet.mjs");
const step = (msg) => process.stderr.write(`\n==> ${msg}\n`);
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: "inherit" }).status ?? 1;

step("building the tiny demo guest (cached after the first time)");
if (run("bash", ["scripts/build-guest.sh", "x86_64"]) !== 0) process.exit(1);

step("qfleet validate && qfleet reconcile --only demo");
if (run("node", [cli, "validate"]) !== 0) process.exit(1);
const rec = run("node", [cli, "reconcile", "--only", "demo"]);
if (rec !== 0) process.exit(rec);

step("qfleet status demo --wait-ssh 180 (the guest boots in a few seconds, longer under heavy load)");
const st = run("node", [cli, "status", "demo", "--wait-ssh", "180"]);

const key = path.relative(process.cwd(), path.join(root, ".cache", "guest", "x86_64", "id_ed25519")) || ".";
process.stdout.write(`
The demo VM ${st === 0 ? "is up" : "was started but SSH did not answer in time (see qfleet status demo)"}.
  log in:   ssh -i ${key} -p 2222 root@localhost        (or password: qfleet)
  status:   npx qfleet status demo
  list:     npx qfleet list
  stop:     npx qfleet stop demo                      (writes state: stopped into vms/demo.yaml)
  remove:   set state: absent in vms/demo.yaml, then npx qfleet reconcile
`);
process.exit(st);
