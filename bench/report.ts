/**
 * The Markdown report: header with the machine, the targets, then one table row per
 * (workload, metric) with Berth, Distribution, Berth ÷ Distribution (and, in a run with a
 * baseline binary, the baseline and Berth ÷ baseline; in a run with the bare Bun server, its
 * value and Berth ÷ bare), unit, target and note.
 */
import { METRIC_UNITS, machineLine, num, times } from "./format.ts";
import { ratio } from "./targets.ts";
import type { BenchResult, Measurement, TargetCheck, TargetName, WorkloadResult } from "./types.ts";

/** Columns beyond Distribution, present when some row measured that target. */
type Extra = Extract<TargetName, "baseline" | "bare">;
const EXTRA_HEADS: Record<Extra, [string, string]> = { baseline: ["baseline", "÷ base"], bare: ["bare Bun", "÷ bare"] };

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function passText(pass: boolean | null): string {
  if (pass === null) return "n/a";
  return pass ? "pass" : "**FAIL**";
}

function targetValue(check: TargetCheck): string {
  if (check.threshold.endsWith("×") || check.threshold.includes("of dd")) return times(check.value);
  return num(check.value);
}

function note(w: WorkloadResult): string {
  const parts: string[] = [];
  const side = (name: string, m: Measurement | undefined) => {
    if (!m) return;
    parts.push(`${name} [${m.tool}]: ${m.note || m.bottleneck}`);
  };
  side("B", w.results.berth);
  side("D", w.results.distribution);
  side("base", w.results.baseline);
  side("bare", w.results.bare);
  return parts.join(" · ");
}

function workloadRows(w: WorkloadResult, targets: readonly TargetCheck[], extras: readonly Extra[]): string[] {
  return w.metrics.map((metric, i) => {
    const checks = targets.filter((t) => t.workloadId === w.id && t.metric === metric);
    const target = checks.map((t) => t.threshold).join("; ");
    const pass = checks.map((t) => `${passText(t.pass)}${t.value === null ? "" : ` (${targetValue(t)})`}`).join("; ");
    const others = extras.flatMap((extra) => [num(w.results[extra]?.[metric]), times(ratio(w, metric, extra))]);
    const cols = [
      i === 0 ? w.label : "",
      num(w.results.berth?.[metric]),
      num(w.results.distribution?.[metric]),
      times(ratio(w, metric)),
      ...others,
      METRIC_UNITS[metric],
      target,
      pass,
      i === 0 ? note(w) : "",
    ];
    return `| ${cols.map(cell).join(" | ")} |`;
  });
}

export function renderMarkdown(result: BenchResult, groupTitles: ReadonlyMap<string, string>): string {
  const m = result.machine;
  const lines: string[] = [
    "# Berth vs Distribution 2.8.2",
    "",
    `- Run: ${result.startedAt} → ${result.finishedAt}, mode **${result.mode}**${m.gitCommit ? `, commit ${m.gitCommit}` : ""}`,
    `- Machine: ${machineLine(m)} (client and servers share these cores; loopback only)`,
    `- Tools: Bun ${m.bunVersion}; Distribution: ${m.distributionVersion}; Berth: ${m.berthVersion}; wrk: ${m.wrk ?? "not used"}; docker: ${m.docker ?? "absent"}`,
    `- Disk reference (dd bs=1M conv=fsync on the data disk): ${num(result.reference.ddMbPerSec)} MB/s (runs: ${result.reference.ddRuns.map(num).join(", ") || "none"})`,
    "- Ratio = Berth ÷ Distribution of the same row in this run. MB = 10^6 bytes. Client = the load generator (this Bun process plus wrk/docker/dockerd).",
    "",
    "## Targets",
    "",
    "| target | value | threshold | pass | note |",
    "| --- | --- | --- | --- | --- |",
  ];
  for (const t of result.targets) {
    lines.push(`| ${[t.description, targetValue(t), t.threshold, passText(t.pass), t.note ?? ""].map(cell).join(" | ")} |`);
  }
  // the baseline's and the bare server's columns appear only in a run that measured them
  const extras = (["baseline", "bare"] as const).filter((extra) => result.workloads.some((w) => w.results[extra] !== undefined));
  lines.push("", "## Results", "");
  if (extras.includes("baseline")) {
    lines.push(`Baseline: ${result.config.baselineCommand?.join(" ") ?? "?"} (an older Berth); ÷ base = Berth ÷ baseline.`, "");
  }
  if (extras.includes("bare")) {
    lines.push("bare Bun: a bare `bun build --compile` server answering /v2/ and one manifest from memory with Berth's headers (bench/bare/server.ts), the floor of those rows; ÷ bare = Berth ÷ bare.", "");
  }
  const heads = extras.flatMap((extra) => EXTRA_HEADS[extra]);
  lines.push(`| ${["workload", "Berth", "Distribution", "ratio", ...heads, "unit", "target", "pass", "note"].join(" | ")} |`);
  lines.push(`| --- | ---: | ---: | ---: | ${heads.map(() => "---: | ").join("")}--- | --- | --- | --- |`);
  const empty = " |".repeat(8 + heads.length);
  let group = "";
  for (const w of result.workloads) {
    if (w.group !== group) {
      group = w.group;
      lines.push(`| **${cell(groupTitles.get(group) ?? group)}**${empty}`);
    }
    lines.push(...workloadRows(w, result.targets, extras));
  }
  if (result.failures.length > 0) {
    lines.push("", "## Failures", "");
    for (const f of result.failures) lines.push(`- ${f.id} on ${f.target}: ${cell(f.error.split("\n").slice(0, 6).join(" "))}`);
  }
  lines.push("");
  return lines.join("\n");
}
