import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Kind, type TObject, type TSchema } from "@sinclair/typebox";
import { parse } from "smol-toml";
import { ConfigSchema } from "../../src/config/schema.ts";

const root = join(import.meta.dir, "../..");

/** Every key path of the schema whose value is not itself a section. */
function leafKeys(schema: TObject, prefix = ""): Array<{ path: string; scalar: boolean }> {
  return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, child]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    if (child[Kind] === "Object") return leafKeys(child as TObject, path);
    return [{ path, scalar: child[Kind] !== "Array" && child[Kind] !== "Record" }];
  });
}

describe("documentation stays true to the configuration schema", () => {
  const keys = leafKeys(ConfigSchema);
  test("the README's configuration table names every key", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const missing = keys.filter(({ path }) => !readme.includes(`\`${path}\``)).map(({ path }) => path);
    expect(missing).toEqual([]);
  });
  test("registry.toml spells out every scalar key", () => {
    const file = parse(readFileSync(join(root, "registry.toml"), "utf8")) as Record<string, unknown>;
    const lookup = (path: string) =>
      path.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], file);
    const missing = keys.filter(({ path, scalar }) => scalar && lookup(path) === undefined).map(({ path }) => path);
    expect(missing).toEqual([]);
  });
});

describe("set-up", () => {
  test("package-lock.json is in step with package.json, so npm install leaves the checkout clean", () => {
    const manifest: unknown = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const lock: unknown = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
    const pick = (value: unknown, ...path: string[]) => path.reduce<unknown>((node, key) => (typeof node === "object" && node !== null ? (node as Record<string, unknown>)[key] : undefined), value);
    for (const field of ["dependencies", "devDependencies", "bin"]) {
      expect(pick(lock, "packages", "", field)).toEqual(pick(manifest, field));
    }
  });
});
