/**
 * `berth config check`: run every check `serve` runs and print the effective configuration
 * (secrets redacted), or one line naming what is wrong. `berth config convert FILE`: print the
 * registry.toml equivalent of a registry:2 config.yml.
 */
import { readFileSync } from "node:fs";
import { stringify } from "smol-toml";
import { type ConfigNote, loadConfiguration } from "../config/load.ts";
import { redactConfig } from "../config/redact.ts";
import { translateRegistry2File } from "../config/registry2/translate.ts";
import { ConfigError } from "../config/errors.ts";
import { isTree } from "../config/tree.ts";
import { preflight } from "./preflight.ts";

export async function configCheck(configFile: string | undefined, json: boolean): Promise<void> {
  try {
    const loaded = loadConfiguration(configFile === undefined ? {} : { path: configFile });
    await preflight(loaded);
    const config = redactConfig(loaded.config);
    if (json) {
      process.stdout.write(JSON.stringify({ valid: true, file: loaded.file, format: loaded.format, notes: loaded.notes, config }, null, 2) + "\n");
      return;
    }
    process.stdout.write(`# effective configuration (from ${loaded.file ?? "built-in defaults"} and variables)\n`);
    for (const note of loaded.notes) process.stdout.write(`# ${note.level}: ${note.message}\n`);
    process.stdout.write(JSON.stringify(config, null, 2) + "\n");
  } catch (error) {
    if (!json) throw error;
    process.stdout.write(JSON.stringify({ valid: false, error: error instanceof Error ? error.message : String(error) }, null, 2) + "\n");
    process.exit(1);
  }
}

export function configConvert(file: string): void {
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError(`Cannot read ${file} as YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  if (!isTree(parsed)) throw new ConfigError(`${file} is not a registry:2 configuration: expected keys at the top level`);
  const { tree, notes } = translateRegistry2File(parsed);
  process.stdout.write(`# registry.toml converted from ${file} by berth config convert.\n`);
  process.stdout.write("# Relative paths are relative to this file, as they were to config.yml.\n");
  for (const note of notes) process.stdout.write(`# ${noteLine(note)}\n`);
  process.stdout.write(`\n${stringify(tree)}\n`);
}

function noteLine(note: ConfigNote): string {
  return note.level === "info" ? note.message : `${note.level}: ${note.message}`;
}
