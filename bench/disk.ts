/**
 * The disk reference: `dd if=/dev/zero of=<file> bs=1M count=N conv=fsync` on the same disk as
 * the registries' data directories. A registry that fsyncs each blob cannot beat this.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BenchConfig } from "./config.ts";
import { execOk } from "./exec.ts";
import { MB, median } from "./measure.ts";
import type { Reference } from "./types.ts";

/** Parses dd's closing line: "268435456 bytes (268 MB, 256 MiB) copied, 0.52 s, 516 MB/s". */
export function parseDd(stderr: string): number {
  const match = /(\d+) bytes .* copied, ([\d.,]+) s/.exec(stderr);
  if (!match?.[1] || !match[2]) throw new Error(`cannot parse dd output: ${stderr}`);
  return Number(match[1]) / MB / Number(match[2].replace(",", "."));
}

export async function ddReference(config: BenchConfig): Promise<Reference> {
  const dir = mkdtempSync(join(config.workDir, "berth-bench-dd-"));
  const runs: number[] = [];
  try {
    for (let i = 0; i < config.ddRuns; i++) {
      const file = join(dir, `dd-${i}.bin`);
      const result = await execOk(
        ["dd", "if=/dev/zero", `of=${file}`, "bs=1M", `count=${config.ddCountMiB}`, "conv=fsync"],
        { timeoutMs: 300_000, env: { LC_ALL: "C" } },
      );
      runs.push(parseDd(result.stderr));
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ddMbPerSec: runs.length ? median(runs) : null, ddRuns: runs };
}
