/**
 * Makes sure dist/berth exists and is newer than every source file; runs `npm run build` if not.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./config.ts";

const BUILD_TIMEOUT_MS = 300_000;
/** Inputs of the compiled binary (see the build script in package.json). */
const SOURCES = ["src", "plugins", "web", "package.json", "registry.toml"];

function newestMtime(path: string, depth = 0): number {
  if (!existsSync(path) || depth > 20) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    newest = Math.max(newest, newestMtime(join(path, entry), depth + 1));
  }
  return newest;
}

/** True when `binary` is missing or older than any source. */
export function isStale(binary: string): boolean {
  if (!existsSync(binary)) return true;
  const built = statSync(binary).mtimeMs;
  return SOURCES.some((source) => newestMtime(join(repoRoot, source)) > built);
}

/** Builds dist/berth when it is missing or stale; throws with the build output on failure. */
export async function ensureBerthBinary(binary: string, log: (line: string) => void): Promise<void> {
  if (!isStale(binary)) return;
  if (!existsSync(join(repoRoot, "src/main.ts"))) {
    throw new Error(`${binary} is missing and there is no src/main.ts to build it from`);
  }
  log(`building ${binary} (npm run build)`);
  const proc = Bun.spawn(["npm", "run", "build"], { cwd: repoRoot, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), BUILD_TIMEOUT_MS);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0 || !existsSync(binary)) {
    throw new Error(`npm run build failed (exit ${code}):\n${out.slice(-3000)}\n${err.slice(-3000)}`);
  }
}
