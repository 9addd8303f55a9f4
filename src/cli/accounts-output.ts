/**
 * Shared by `berth robot` and `berth ns`: option parsing, and reading the accounts API's JSON
 * answers (the server's or this process's: checked, never trusted) for printing.
 */

/** The positional arguments and the `--name value` / `--name=value` options of a command. */
export interface ParsedArgs {
  positional: string[];
  options: Map<string, string[]>;
  flags: Set<string>;
}

/** @throws Error naming an unknown option or one without its value */
export function parseArgs(args: string[], valued: readonly string[], flags: readonly string[], help: string): ParsedArgs {
  const parsed: ParsedArgs = { positional: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith("--")) {
      parsed.positional.push(arg);
      continue;
    }
    const [name = "", inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (flags.includes(name) && inline === undefined) {
      parsed.flags.add(name);
      continue;
    }
    if (!valued.includes(name)) throw new Error(`unknown option "${arg}" (see ${help})`);
    const value = inline ?? args[++i];
    if (value === undefined || value === "") throw new Error(`--${name} needs a value`);
    parsed.options.set(name, [...(parsed.options.get(name) ?? []), value]);
  }
  return parsed;
}

/** Every value of a repeatable, comma-separated option (`--actions pull,push`). */
export function listOption(parsed: ParsedArgs, name: string): string[] {
  return (parsed.options.get(name) ?? []).flatMap((value) => value.split(",")).map((value) => value.trim()).filter((value) => value !== "");
}

export function lastOption(parsed: ParsedArgs, name: string): string | undefined {
  return parsed.options.get(name)?.at(-1);
}

export type Json = Record<string, unknown>;

export function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The objects in `body[key]` (an answer's list). */
export function listOf(body: unknown, key: string): Json[] {
  const list = isJson(body) ? body[key] : undefined;
  return Array.isArray(list) ? list.filter(isJson) : [];
}

export function text(value: unknown, fallback = "-"): string {
  if (typeof value === "string") return value === "" ? fallback : value;
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (Array.isArray(value)) return value.map((item) => text(item)).join(",");
  return fallback;
}

/** Columns padded to their widest cell; the last is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join("  ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** The path segment for a name that may hold "/" or "*" (namespace globs, group:NAME). */
export function segment(name: string): string {
  return encodeURIComponent(name);
}
