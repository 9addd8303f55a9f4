/**
 * A PostgreSQL server of one test's own (initdb in a temp directory, 127.0.0.1 on a free port,
 * trust for local TCP), for tests that stop and start the server under Berth, which the shared
 * test server (tests/machine.sh) must never be. PostgreSQL refuses to run as root: its programs
 * run as the postgres user. stop() removes the directory. Every wait is bounded.
 */
import { chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runToExit } from "./process.ts";
import { removeDir, tempDir } from "./server.ts";

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  /** stops the server (fast: sessions are cut), keeping its data */
  halt(): Promise<void>;
  /** starts it again on the same port and data */
  resume(): Promise<void>;
  /** stops it and removes its directory */
  stop(): Promise<void>;
}

const PROGRAM_ENV = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C" };

/** Are PostgreSQL's server programs here? Under CI their absence throws instead (the test must not pass by skipping). */
export function postgresInstalled(): boolean {
  if (serverPrograms() !== null) return true;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error("CI is set but PostgreSQL's server programs are not installed (tests/machine.sh installs postgresql)");
  console.warn("[tests/helpers/private-postgres.ts] PostgreSQL is not installed: skipped");
  return false;
}

function serverPrograms(): string | null {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return null;
  const versions = readdirSync(base).filter((name) => existsSync(join(base, name, "bin", "pg_ctl"))).sort((a, b) => Number(a) - Number(b));
  const latest = versions.at(-1);
  return latest === undefined ? null : join(base, latest, "bin");
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

async function asPostgres(args: string[], timeoutMs: number): Promise<void> {
  const result = await runToExit(["runuser", "-u", "postgres", "--", ...args], { timeoutMs, cwd: "/", env: PROGRAM_ENV });
  if (result.code !== 0) throw new Error(`${args.join(" ")} failed (${result.code}): ${result.stdout}${result.stderr}`);
}

/** @throws Error when PostgreSQL's server programs are missing or the server does not start */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = serverPrograms();
  if (bin === null) throw new Error("PostgreSQL's server programs are not installed (tests/machine.sh installs postgresql)");
  const dir = tempDir("berth-private-pg-");
  const data = join(dir, "data");
  mkdirSync(data, { mode: 0o700 });
  const ids = await runToExit(["id", "-u", "postgres"], { timeoutMs: 5_000, cwd: "/", env: PROGRAM_ENV });
  const gids = await runToExit(["id", "-g", "postgres"], { timeoutMs: 5_000, cwd: "/", env: PROGRAM_ENV });
  chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  chownSync(data, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  const port = freePort();
  const ctl = join(bin, "pg_ctl");
  const start = () =>
    asPostgres([ctl, "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start", "-o", `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir}`], 90_000);
  try {
    await asPostgres([join(bin, "initdb"), "-D", data, "--no-locale", "--encoding=UTF8", "--auth-local=trust", "--auth-host=trust", "--username=postgres"], 120_000);
    await start();
  } catch (error) {
    removeDir(dir);
    throw error;
  }
  const halt = () => asPostgres([ctl, "-D", data, "-w", "-t", "60", "-m", "fast", "stop"], 90_000);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    halt,
    resume: start,
    async stop() {
      await halt().catch(() => undefined);
      removeDir(dir);
    },
  };
}
