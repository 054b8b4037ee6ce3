#!/usr/bin/env node
// The layout's rules, checked on src/ (run by `npm run lint`):
// - no import cycles between files, and none between folders through values (src/<folder>/...,
//   src/ root is one; type-only imports may go both ways);
// - only src/hosts/ imports node:fs, node:child_process or node:net;
// - src/hosts/ imports only types from src/spec/.
// Prints one line per broken rule and exits 1, or a one-line summary and exits 0.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "src");
const files = (function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
})(src);

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm;
const OS_MODULES = new Set(["node:fs", "node:fs/promises", "node:child_process", "node:net", "fs", "child_process", "net"]);
const rel = (f) => path.relative(src, f);
const folderOf = (f) => (rel(f).includes(path.sep) ? rel(f).split(path.sep)[0] : "(root)");

const problems = [];
const graph = new Map(); // file -> Set(file), value and type imports alike
const folders = new Map(); // folder -> Set(folder)
for (const f of files) {
  const text = readFileSync(f, "utf8");
  graph.set(f, new Set());
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[3] ?? m[4];
    const typeOnly = Boolean(m[2]);
    if (OS_MODULES.has(spec) && folderOf(f) !== "hosts") problems.push(`${rel(f)}: imports ${spec}; only src/hosts/ touches the OS`);
    if (!spec.startsWith(".")) continue;
    const target = path.resolve(path.dirname(f), spec).replace(/\.js$/, ".ts");
    graph.get(f).add(target);
    const [a, b] = [folderOf(f), folderOf(target)];
    if (a === "hosts" && b === "spec" && !typeOnly)
      problems.push(`${rel(f)}: imports values from ${rel(target)}; hosts/ may import only types from spec/`);
    // folders may share types both ways (spec/ names the Host interface, hosts/ reads hosts.yaml's types)
    if (a !== b && !typeOnly) (folders.get(a) ?? folders.set(a, new Set()).get(a)).add(b);
  }
}

/** Strongly connected components with more than one member (Tarjan): each one is a cycle. */
function cycles(g) {
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    stack = [],
    on = new Set(),
    out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp);
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}
for (const c of cycles(graph)) problems.push(`import cycle between files: ${c.map(rel).sort().join(", ")}`);
for (const c of cycles(folders)) problems.push(`import cycle between folders: ${c.sort().join(", ")}`);

if (problems.length) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`layers: ${files.length} files in ${new Set(files.map(folderOf)).size} folders, no import cycle, OS access only in hosts/`);
