/**
 * The Markdown report: header with the machine, the targets, then one table row per
 * (workload, metric) with Berth, Distribution, Berth ÷ Distribution (and, in a run with a
 * baseline binary, the baseline and Berth ÷ baseline), unit, target and note.
 */
import { METRIC_UNITS, machineLine, num, times } from "./format.ts";
import { ratio } from "./targets.ts";
import type { BenchResult, Measurement, TargetCheck, WorkloadResult } from "./types.ts";

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
  return parts.join(" · ");
}

function workloadRows(w: WorkloadResult, targets: readonly TargetCheck[], withBaseline: boolean): string[] {
  return w.metrics.map((metric, i) => {
    const checks = targets.filter((t) => t.workloadId === w.id && t.metric === metric);
    const target = checks.map((t) => t.threshold).join("; ");
    const pass = checks.map((t) => `${passText(t.pass)}${t.value === null ? "" : ` (${targetValue(t)})`}`).join("; ");
    const baseline = withBaseline ? [num(w.results.baseline?.[metric]), times(ratio(w, metric, "baseline"))] : [];
    const cols = [
      i === 0 ? w.label : "",
      num(w.results.berth?.[metric]),
      num(w.results.distribution?.[metric]),
      times(ratio(w, metric)),
      ...baseline,
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
  // the baseline's columns appear only in a run that measured one (--baseline-bin)
  const withBaseline = result.workloads.some((w) => w.results.baseline !== undefined);
  lines.push("", "## Results", "");
  if (withBaseline) {
    lines.push(`Baseline: ${result.config.baselineCommand?.join(" ") ?? "?"} (an older Berth); ÷ base = Berth ÷ baseline.`, "");
    lines.push("| workload | Berth | Distribution | ratio | baseline | ÷ base | unit | target | pass | note |");
    lines.push("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- | --- |");
  } else {
    lines.push("| workload | Berth | Distribution | ratio | unit | target | pass | note |");
    lines.push("| --- | ---: | ---: | ---: | --- | --- | --- | --- |");
  }
  const empty = " |".repeat(withBaseline ? 10 : 8);
  let group = "";
  for (const w of result.workloads) {
    if (w.group !== group) {
      group = w.group;
      lines.push(`| **${cell(groupTitles.get(group) ?? group)}**${empty}`);
    }
    lines.push(...workloadRows(w, result.targets, withBaseline));
  }
  if (result.failures.length > 0) {
    lines.push("", "## Failures", "");
    for (const f of result.failures) lines.push(`- ${f.id} on ${f.target}: ${cell(f.error.split("\n").slice(0, 6).join(" "))}`);
  }
  lines.push("");
  return lines.join("\n");
}
