/**
 * Compiles the bare reference server (bench/bare/server.ts) at bench time, with the flags
 * `npm run build` gives Berth, into a temp directory of the work dir.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../config.ts";
import { exec } from "../exec.ts";

const BUILD_TIMEOUT_MS = 300_000;

export interface BareBinary {
  path: string;
  remove(): void;
}

export async function buildBareServer(workDir: string, log: (line: string) => void): Promise<BareBinary> {
  const dir = mkdtempSync(join(workDir, "berth-bench-bare-"));
  const path = join(dir, "bare-server");
  log(`compiling the bare Bun server (bench/bare/server.ts) to ${path}`);
  const argv = [
    join(repoRoot, "node_modules/.bin/bun"),
    "build",
    "--compile",
    "--minify",
    "--sourcemap",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-bunfig",
    join(repoRoot, "bench/bare/server.ts"),
    "--outfile",
    path,
  ];
  const result = await exec(argv, { timeoutMs: BUILD_TIMEOUT_MS, cwd: repoRoot });
  if (result.code !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`bun build --compile of the bare server failed (exit ${result.code}):\n${result.stderr.slice(-2000)}${result.stdout.slice(-1000)}`);
  }
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
