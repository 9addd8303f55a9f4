/**
 * Helpers for the robot and namespace tests: `berth robot` / `berth ns` run with the same
 * configuration and BERTH_* variables as the server under test (so they reach it through its
 * admin socket, or work in process when it is not running).
 */
import { join } from "node:path";
import { runBerth } from "./server.ts";

/** Runs `berth <args> --config <root>/registry.toml` on <root>/data; throws unless it exits 0. @returns standard output */
export async function berthCli(root: string, args: string[]): Promise<string> {
  const result = await runBerth([...args, "--config", join(root, "registry.toml")], { cwd: root, env: { BERTH_STORAGE_ROOT: join(root, "data") }, timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`berth ${args.join(" ")} exited with ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Makes a robot with `berth robot create`; @returns its secret */
export async function createRobot(root: string, name: string, options: string[]): Promise<string> {
  const secret = (await berthCli(root, ["robot", "create", name, ...options])).trim();
  if (!/^berth_[A-Za-z0-9_-]{43}$/.test(secret)) throw new Error(`berth robot create printed no secret: ${secret}`);
  return secret;
}
