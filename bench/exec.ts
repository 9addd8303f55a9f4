/**
 * Runs a helper program (docker, dd, version probes) with a time limit, capturing its output
 * and the CPU seconds it used.
 */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** user+system CPU of the program and the children it waited for */
  cpuSec: number;
  /** the program's peak resident set, bytes (NaN when unknown) */
  maxRssBytes: number;
  wallMs: number;
}

export interface ExecOptions {
  timeoutMs: number;
  /** added to this process's environment, or the whole environment when `inheritEnv` is false */
  env?: Record<string, string>;
  inheritEnv?: boolean;
  cwd?: string;
}

export async function exec(argv: string[], options: ExecOptions): Promise<ExecResult> {
  const t0 = performance.now();
  const proc = Bun.spawn(argv, {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: options.inheritEnv === false ? { ...options.env } : { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const killer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(killer);
  const usage = proc.resourceUsage();
  const cpuSec = usage ? Number(usage.cpuTime.total) / 1e6 : 0;
  return { code, stdout, stderr, cpuSec, maxRssBytes: usage?.maxRSS ?? Number.NaN, wallMs: performance.now() - t0 };
}

/** Like exec, but throws with the output when the exit code is not 0. */
export async function execOk(argv: string[], options: ExecOptions): Promise<ExecResult> {
  const result = await exec(argv, options);
  if (result.code !== 0) {
    throw new Error(`${argv.join(" ")} exited with ${result.code}: ${result.stderr.slice(-1500)}${result.stdout.slice(-500)}`);
  }
  return result;
}

/** First line of a program's output, or null if it cannot run. */
export function versionLine(argv: string[]): string | null {
  try {
    const out = Bun.spawnSync(argv, { stdin: "ignore", timeout: 5000 });
    if (out.exitCode !== 0) return null;
    const text = `${out.stdout.toString()}${out.stderr.toString()}`.trim();
    return text.split("\n")[0] ?? null;
  } catch {
    return null;
  }
}
