/**
 * Which tags a policy keeps: each rule filters (tag patterns, pushed_within, pulled_within;
 * all must hold) then ranks (most_recent, most_recently_pulled, most_recent_per_group: the tag
 * must be within every ranking the rule has); rules combine by the policy's `keep`.
 */
import type { Policy, Rule } from "./config.ts";

export interface TagState {
  name: string;
  digest: string;
  /** when the tag was last pointed at its digest (ms) */
  pushedMs: number;
  /** the manifest's last pull (ms), null when never pulled */
  pulledMs: number | null;
}

/** tag → why no rule kept it (empty when kept) */
export type Verdicts = Map<string, string[]>;

const DAY = 86_400_000;

function age(ms: number): string {
  return ms >= DAY ? `${Math.floor(ms / DAY)}d` : `${Math.floor(ms / 3_600_000)}h`;
}

function byPushed(a: TagState, b: TagState): number {
  return b.pushedMs - a.pushedMs || (a.name < b.name ? -1 : 1);
}

function byPulled(a: TagState, b: TagState): number {
  return (b.pulledMs ?? -1) - (a.pulledMs ?? -1) || byPushed(a, b);
}

/** The group of a tag: the capture groups of the first rule regex it matches. */
function groupOf(rule: Rule, tag: string): string | null {
  for (const pattern of rule.tags ?? []) {
    const match = pattern.regex.exec(tag);
    if (match && match.length > 1) return match.slice(1).join("\u0000");
  }
  return null;
}

/** tag → null when the rule keeps it, else why not */
function evaluateRule(rule: Rule, tags: readonly TagState[], now: number): Map<string, string | null> {
  const result = new Map<string, string | null>();
  const candidates: TagState[] = [];
  for (const tag of tags) {
    let reason: string | null = null;
    if (rule.tags && !rule.tags.some((pattern) => pattern.regex.test(tag.name))) reason = "tag does not match";
    else if (rule.pushedWithinMs !== null && now - tag.pushedMs > rule.pushedWithinMs) reason = `pushed ${age(now - tag.pushedMs)} ago`;
    else if (rule.pulledWithinMs !== null && (tag.pulledMs === null || now - tag.pulledMs > rule.pulledWithinMs)) {
      reason = tag.pulledMs === null ? "never pulled" : `last pulled ${age(now - tag.pulledMs)} ago`;
    }
    result.set(tag.name, reason);
    if (reason === null) candidates.push(tag);
  }
  const outside = (kept: Set<string>, reason: string) => {
    for (const tag of candidates) if (!kept.has(tag.name) && result.get(tag.name) === null) result.set(tag.name, reason);
  };
  if (rule.mostRecent !== null) {
    outside(new Set([...candidates].sort(byPushed).slice(0, rule.mostRecent).map((t) => t.name)), `not among the ${rule.mostRecent} most recently pushed`);
  }
  if (rule.mostRecentlyPulled !== null) {
    const pulled = candidates.filter((t) => t.pulledMs !== null).sort(byPulled);
    outside(new Set(pulled.slice(0, rule.mostRecentlyPulled).map((t) => t.name)), `not among the ${rule.mostRecentlyPulled} most recently pulled`);
  }
  if (rule.mostRecentPerGroup !== null) {
    const groups = new Map<string, TagState[]>();
    for (const tag of candidates) {
      const group = groupOf(rule, tag.name) ?? "";
      groups.set(group, [...(groups.get(group) ?? []), tag]);
    }
    const kept = new Set<string>();
    for (const members of groups.values()) for (const tag of members.sort(byPushed).slice(0, rule.mostRecentPerGroup)) kept.add(tag.name);
    outside(kept, `not among the ${rule.mostRecentPerGroup} most recent of its group`);
  }
  return result;
}

/** Every tag's verdict under the policy: kept (no reasons) or the reason of each rule that did not keep it. */
export function judgeTags(policy: Policy, tags: readonly TagState[], now: number): Verdicts {
  const verdicts: Verdicts = new Map(tags.map((tag) => [tag.name, []]));
  if (policy.rules.length === 0) return verdicts; // a policy of `untagged` only keeps every tag
  const perRule = policy.rules.map((rule) => ({ rule, result: evaluateRule(rule, tags, now) }));
  for (const tag of tags) {
    const failures = perRule.flatMap(({ rule, result }) => {
      const reason = result.get(tag.name);
      return reason ? [`rule ${rule.number} (${rule.text}): ${reason}`] : [];
    });
    const kept = policy.keep === "any" ? failures.length < perRule.length : failures.length === 0;
    verdicts.set(tag.name, kept ? [] : failures);
  }
  return verdicts;
}
