/**
 * What a private dockerd (tests/helpers/dockerd.ts) adds to the host's iptables, and its removal.
 *
 * dockerd writes its rules into the host's filter and nat tables and leaves some behind when it
 * exits (its DOCKER* chains, the jumps to them, rules naming its bridge). After it has exited we
 * delete only what it added: rules absent from the snapshot taken before it started that name our
 * bridge or our subnet; then the DOCKER* chains that did not exist before, with the jumps to them,
 * unless another dockerd that uses iptables runs (the chains are shared between daemons).
 */
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { exec } from "./docker.ts";

const tables = ["filter", "nat"] as const;
type Table = (typeof tables)[number];

/** `iptables -S` of each table, line by line ("-N CHAIN", "-A CHAIN match… -j TARGET"). */
export type IptablesSnapshot = Record<Table, string[]>;

async function listRules(table: Table): Promise<string[]> {
  const listed = await exec(["iptables", "-w", "10", "-t", table, "-S"], { timeoutMs: 20_000 });
  return listed.stdout.split("\n").filter((line) => line.startsWith("-"));
}

export async function snapshotIptables(): Promise<IptablesSnapshot> {
  return { filter: await listRules("filter"), nat: await listRules("nat") };
}

/** Splits an `iptables -S` line into arguments (it quotes values with spaces, e.g. comments). */
function splitRule(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? "");
}

async function iptables(table: Table, args: string[]): Promise<void> {
  const done = await exec(["iptables", "-w", "10", "-t", table, ...args], { allowFailure: true, timeoutMs: 20_000 });
  if (done.exitCode !== 0) console.warn(`iptables -t ${table} ${args.join(" ")} failed: ${done.stderr.trim()}`);
}

/** True when a dockerd other than `ownPid` runs without --iptables=false (it may use the DOCKER chains). */
function otherDockerdUsesIptables(ownPid: number): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === ownPid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // it exited meanwhile
    }
    if (basename(argv[0] ?? "") === "dockerd" && !argv.includes("--iptables=false")) return true;
  }
  return false;
}

/**
 * Removes what the dockerd with pid `ownPid` (exited by now) added since `before`: rules naming
 * `bridge` or the subnet prefix `subnet` (e.g. "10.213.7."), then its new DOCKER* chains.
 */
export async function removeDockerdRules(before: IptablesSnapshot, ownPid: number, bridge: string, subnet: string): Promise<void> {
  const names = (args: string[]) => args.includes(bridge) || args.some((arg) => arg.startsWith(subnet));
  const removeChains = !otherDockerdUsesIptables(ownPid);
  for (const table of tables) {
    const added = (await listRules(table)).filter((line) => !before[table].includes(line));
    const newChains = added.filter((line) => line.startsWith("-N DOCKER")).map((line) => line.slice(3));
    const rules = added.filter((line) => line.startsWith("-A ")).map(splitRule);
    for (const rule of rules) {
      const [, chain, ...spec] = rule;
      if (chain === undefined || (removeChains && newChains.includes(chain))) continue; // flushed with its chain below
      const jumpsToNewChain = newChains.includes(rule[rule.indexOf("-j") + 1] ?? "");
      if (names(rule) || (removeChains && jumpsToNewChain)) await iptables(table, ["-D", chain, ...spec]);
    }
    if (!removeChains) continue;
    // flush every chain before deleting any: DOCKER-ISOLATION-STAGE-1 jumps to STAGE-2
    for (const chain of newChains) await iptables(table, ["-F", chain]);
    for (const chain of newChains) await iptables(table, ["-X", chain]);
  }
}
