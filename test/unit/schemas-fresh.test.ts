import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSchemas, SCHEMA_DIR } from "../../scripts/write-schemas.js";

describe("schemas/*.json", () => {
  const fresh = generateSchemas();

  it.each(Object.keys(fresh))("%s matches the zod schema (run `npm run schema` when this fails)", (file) => {
    const committed = readFileSync(join(SCHEMA_DIR, file), "utf8");
    expect(committed, `schemas/${file} is stale: run npm run schema`).toBe(fresh[file]);
  });

  it("keeps what editors need: enums, defaults, descriptions, no unknown keys", () => {
    const vm = JSON.parse(fresh["vm.schema.json"]);
    expect(vm.additionalProperties).toBe(false);
    expect(vm.properties.arch.enum).toEqual(["x86_64", "aarch64", "arm64"]);
    expect(vm.properties.memory.default).toBe("2G");
    expect(vm.properties.vcpus).toMatchObject({ type: "integer", minimum: 1, maximum: 512, default: 2 });
    expect(vm.properties.disks.items.additionalProperties).toBe(false);
    expect(vm.required ?? []).toEqual([]);
    const hosts = JSON.parse(fresh["hosts.schema.json"]);
    expect(hosts.properties.hosts.additionalProperties.required).toEqual(["address"]);
    expect(hosts.properties.hosts.additionalProperties.properties).not.toHaveProperty("password");
    const profile = JSON.parse(fresh["profile.schema.json"]);
    expect(profile.additionalProperties).toBe(false);
    expect(profile.required ?? []).toEqual([]);
    expect(profile.properties).not.toHaveProperty("name");
    expect(profile.properties).not.toHaveProperty("profile");
    expect(profile.properties.boot.required ?? []).toEqual([]); // mappings merge: a profile may give part of boot
    expect(Object.keys(profile.properties).sort()).toEqual(
      Object.keys(vm.properties)
        .filter((k) => k !== "name" && k !== "profile")
        .sort(),
    );
    expect(vm.properties.profile.anyOf).toHaveLength(2);
  });
});
