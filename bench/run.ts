/**
 * CLI: `npm run bench` (everything, both registries) or `npm run bench -- --quick`.
 * See bench/README.md for the options and what each row means.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { GROUP_TITLES, runBench, writeResults } from "./bench.ts";
import type { BenchConfig, GroupName } from "./config.ts";
import { GROUPS, fullConfig, quickConfig } from "./config.ts";
import { renderMarkdown } from "./report.ts";
import { runInterruptCleanups } from "./cleanup.ts";
import type { TargetName } from "./types.ts";
import { TARGETS } from "./types.ts";

const HELP = `Usage: bun bench/run.ts [options]
  --quick               small sizes and short durations (under 2 minutes)
  --only a,b            run only these groups: ${GROUPS.join(", ")}
  --skip a,b            skip these groups
  --targets a,b         berth,distribution,baseline,bare (default berth,distribution,bare,
                        plus baseline when --baseline-bin is given; bare: a bare compiled
                        Bun server, the floor of the start-up and manifest GET rows)
  --berth-bin PATH      use this Berth binary (default dist/berth, rebuilt when stale)
  --baseline-bin PATH   an older Berth binary: the push groups also run against it, and the
                        report adds its column and Berth ÷ baseline
  --berth-env K=V       extra environment for Berth (repeatable)
  --client auto|bun     auto: wrk for manifest GET rows when installed; bun: Bun client for all
  --duration SEC        seconds per manifest row and per list row
  --out DIR             results directory (default bench/results)
  --work-dir DIR        temp data and registry roots (default the OS temp dir)
  --keep                keep registry data directories
  --help`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new TypeError(`Unknown ${what} "${item}" (one of ${allowed.join(", ")})`);
  }
  return items as T[];
}

export function configFromArgs(argv: string[]): BenchConfig | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      skip: { type: "string" },
      targets: { type: "string" },
      "berth-bin": { type: "string" },
      "baseline-bin": { type: "string" },
      "berth-env": { type: "string", multiple: true },
      client: { type: "string" },
      duration: { type: "string" },
      out: { type: "string" },
      "work-dir": { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const config = values.quick ? quickConfig() : fullConfig();
  const only = list<GroupName>(values.only, GROUPS, "group");
  const skip = list<GroupName>(values.skip, GROUPS, "group") ?? [];
  if (only) config.groups = only;
  config.groups = config.groups.filter((g) => !skip.includes(g));
  if (only || skip.length) config.mode = "custom";
  if (values["baseline-bin"]) config.baselineCommand = [resolve(values["baseline-bin"])];
  const defaultTargets: TargetName[] = config.baselineCommand ? [...config.targets, "baseline"] : config.targets;
  config.targets = list<TargetName>(values.targets, TARGETS, "target") ?? defaultTargets;
  if (config.targets.includes("baseline") && !config.baselineCommand) throw new TypeError("The baseline target needs --baseline-bin PATH");
  if (values["berth-bin"]) config.berthCommand = [resolve(values["berth-bin"])];
  for (const pair of values["berth-env"] ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new TypeError(`Expected KEY=VALUE, got "${pair}"`);
    config.berthEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.client) {
    if (values.client !== "auto" && values.client !== "bun") throw new TypeError(`Unknown client "${values.client}"`);
    config.client = values.client;
  }
  if (values.duration) {
    const sec = Number(values.duration);
    if (!(sec > 0 && sec <= 600)) throw new RangeError(`Expected 0 < duration <= 600, got "${values.duration}"`);
    config.manifestDurationSec = sec;
    config.listDurationSec = sec;
  }
  if (values.out) config.outDir = resolve(values.out);
  if (values["work-dir"]) config.workDir = resolve(values["work-dir"]);
  config.keep = values.keep;
  return config;
}

async function main(): Promise<number> {
  const config = configFromArgs(process.argv.slice(2));
  if (!config) {
    console.log(HELP);
    return 0;
  }
  const log = (line: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const result = await runBench(config, log);
  const paths = writeResults(result, config.outDir);
  console.log(renderMarkdown(result, GROUP_TITLES));
  log(`wrote ${paths.join(", ")}`);
  return result.failures.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      runInterruptCleanups();
      process.exit(130);
    });
  }
  process.exitCode = await main();
}
