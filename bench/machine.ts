/**
 * The machine and tool versions printed in the report header.
 */
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";
import type { BenchConfig } from "./config.ts";
import { repoRoot } from "./config.ts";
import { versionLine } from "./exec.ts";
import type { MachineInfo } from "./types.ts";
import { wrkVersion } from "./wrk.ts";

function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function machineInfo(config: BenchConfig): MachineInfo {
  const commit = versionLine(["git", "-C", repoRoot, "rev-parse", "--short", "HEAD"]);
  return {
    nproc: availableParallelism(),
    cpuModel: cpuModel(),
    memTotalGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    bunVersion: Bun.version,
    distributionVersion: versionLine([config.distributionBin, "--version"]) ?? "unknown",
    berthVersion: versionLine([...config.berthCommand, "version"]) ?? "unknown",
    wrk: config.client === "auto" ? wrkVersion() : null,
    docker: versionLine(["docker", "version", "--format", "{{.Server.Version}}"]),
    gitCommit: commit,
  };
}
