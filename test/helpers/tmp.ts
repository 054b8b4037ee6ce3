import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach } from "vitest";

/**
 * A fresh temp folder for each test, removed after it whether the test passed or not.
 * Call at the top of a describe (or file): `const tmp = useTmpDir();` then `tmp.path("a.raw")`.
 * `tmp.dir` is only valid inside a test or its hooks.
 */
export interface TmpDir {
  readonly dir: string;
  path(...parts: string[]): string;
}

export function useTmpDir(prefix = "qfleet-test-"): TmpDir {
  let current: string | undefined;
  const made = new Set<string>();
  beforeEach(() => {
    current = mkdtempSync(path.join(tmpdir(), prefix));
    made.add(current);
  });
  const remove = () => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
    made.clear();
    current = undefined;
  };
  afterEach(remove);
  afterAll(remove); // a beforeEach that failed half-way still leaves nothing behind
  return {
    get dir() {
      if (!current) throw new Error("useTmpDir: the temp folder exists only inside a test");
      return current;
    },
    path(...parts) {
      return path.join(this.dir, ...parts);
    },
  };
}

/** A temp folder for code outside a test's lifetime (beforeAll); the caller removes it with the returned function. */
export function makeTmpDir(prefix = "qfleet-test-"): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Writes fleet trees for unit tests: `tree({"vms/a.yaml": "..."})` makes a fresh temp folder
 * with vms/ (none with `{ vms: false }`) and the files, each in its own folder; every folder
 * made during a test is removed after it.
 */
export function useFleetTree(prefix = "qfleet-tree-"): (files: Record<string, string>, opts?: { vms?: boolean }) => Promise<string> {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return async (files, opts = {}) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    made.push(dir);
    if (opts.vms !== false) mkdirSync(path.join(dir, "vms"));
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    }
    return dir;
  };
}
