/**
 * `berth retention preview|run|runs` and `berth tag restore NAME:TAG`: the retention plugin's
 * admin API (/api/v1/retention/*, …/tags/TAG/restore) asked on the running server's admin
 * socket, or in this process when no server runs (admin-call.ts). Output is the API's JSON
 * with --json, else one line per tag or manifest.
 */
import { adminCall } from "./admin-call.ts";

export const RETENTION_HELP = `Usage:
  berth retention preview [--repository NAME] [--now TIME] [--json] [--config FILE]
  berth retention run [--dry-run] [--json] [--config FILE]
  berth retention runs [--json] [--config FILE]
  berth tag restore NAME:TAG [--config FILE]

preview lists, per repository, each tag and manifest the [[retention.policies]] would delete
now (or as of --now, an ISO 8601 time) with the reason, and the bytes GC frees afterwards.
run deletes exactly what the preview lists at that moment; runs lists past runs. Removed tags
stay restorable for [retention] undo_window: tag restore points the tag at its digest again.
With a server running, it is asked through its admin socket (no credentials).`;

type Json = Record<string, unknown>;

function fields(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(fields) : [];
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`${name} needs a value`);
  return value;
}

function printPlan(plan: Json): void {
  for (const repository of list(plan.repositories)) {
    const dry = repository.dry_run === true ? " (policy is dry_run)" : "";
    for (const tag of list(repository.tags)) {
      const reasons = Array.isArray(tag.reasons) ? tag.reasons.join("; ") : "";
      process.stdout.write(`tag ${String(repository.name)}:${String(tag.tag)} ${String(tag.digest)} ${String(tag.size)} bytes${dry}: ${reasons}\n`);
    }
    for (const manifest of list(repository.manifests)) {
      process.stdout.write(`manifest ${String(repository.name)}@${String(manifest.digest)} ${String(manifest.size)} bytes${dry}: ${String(manifest.reason)}\n`);
    }
  }
  process.stdout.write(`${String(plan.bytes_freed_after_gc ?? 0)} bytes freed by GC after this (and the undo window)\n`);
}

export async function retentionCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, ...args] = argv;
  const json = args.includes("--json");
  const known = new Set(["--json", "--dry-run", "--repository", "--now"]);
  const unknown = args.find((arg, i) => arg.startsWith("-") && !known.has(arg) && !known.has(args[i - 1] ?? ""));
  if (unknown !== undefined) throw new Error(`unknown argument "${unknown}" (see berth retention --help)`);
  if (sub === "preview") {
    const query = new URLSearchParams();
    const repository = option(args, "--repository");
    const now = option(args, "--now");
    if (repository !== undefined) query.set("repository", repository);
    if (now !== undefined) query.set("now", now);
    const plan = await adminCall(configFile, "GET", `/api/v1/retention/preview${query.size > 0 ? `?${query}` : ""}`);
    if (json) process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    else printPlan(fields(plan));
    return;
  }
  if (sub === "run") {
    const report = fields(await adminCall(configFile, "POST", `/api/v1/retention/run${args.includes("--dry-run") ? "?dry_run=true" : ""}`));
    if (json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    printPlan(fields(report.plan));
    for (const skipped of Array.isArray(report.skipped) ? report.skipped : []) process.stderr.write(`berth retention: skipped ${String(skipped)}\n`);
    process.stdout.write(`run ${String(report.id)}: ${String(report.deleted_tags)} tag(s) and ${String(report.deleted_manifests)} manifest(s) deleted${report.dry_run === true ? " (dry run: none)" : ""}\n`);
    return;
  }
  if (sub === "runs") {
    const runs = list(fields(await adminCall(configFile, "GET", "/api/v1/retention/runs")).runs);
    if (json) return void process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    for (const run of runs) {
      process.stdout.write(`${String(run.started_at)} ${String(run.id)} ${String(run.trigger)}: ${String(run.deleted_tags)} tag(s), ${String(run.deleted_manifests)} manifest(s)${run.dry_run === true ? " (dry run)" : ""}\n`);
    }
    return;
  }
  throw new Error(`unknown retention command "${sub ?? ""}" (berth retention preview|run|runs)`);
}

export async function tagCommand(argv: string[], configFile: string | undefined): Promise<void> {
  const [sub, target, ...extra] = argv;
  if (sub !== "restore") throw new Error(`unknown tag command "${sub ?? ""}" (berth tag restore NAME:TAG)`);
  const colon = target?.lastIndexOf(":") ?? -1;
  if (target === undefined || colon <= 0 || colon === target.length - 1 || target.slice(colon).includes("/")) throw new Error("berth tag restore needs NAME:TAG");
  if (extra.length > 0) throw new Error(`unexpected argument "${extra[0]}" (see berth tag --help)`);
  const restored = fields(await adminCall(configFile, "POST", `/api/v1/repositories/${target.slice(0, colon)}/tags/${encodeURIComponent(target.slice(colon + 1))}/restore`));
  process.stdout.write(`restored ${String(restored.repository)}:${String(restored.tag)} -> ${String(restored.digest)}\n`);
}
