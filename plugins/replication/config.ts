/** The [[replication]] rules of registry.toml: where to copy, what, and how. */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { globToRegExp } from "../../src/oci/glob.ts";
import { checkConfig, Duration, invalidConfigKey } from "../../src/util/config-schema.ts";
import { parseDuration } from "../../src/util/duration.ts";

export class ReplicationConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplicationConfigError";
  }
}

export const RuleSchema = Type.Object(
  {
    name: Type.String({ default: "", pattern: "^[A-Za-z0-9._-]*$", description: "the rule's name in GET /api/v1/replication; the target's host:port when empty" }),
    url: Type.String({ pattern: "^https?://[^/?#]+/?$", description: "the target registry, e.g. https://standby:5000" }),
    username: Type.String({ default: "", description: "target user (basic or token flow); empty = anonymous" }),
    password: Type.String({ default: "", description: "target password (redacted everywhere)" }),
    repositories: Type.Array(Type.String(), { default: ["**"], description: "repository globs (* within a component, ** across)" }),
    tags: Type.Array(Type.String(), { default: ["*"], description: "tag globs; untagged manifests (referrers) follow their subject" }),
    deletes: Type.Boolean({ default: false, description: "replicate tag and manifest deletes" }),
    mode: Type.Literal("push", { default: "push", description: "push: on every push event, through a durable queue" }),
    reconcile: Duration("1h", "how often every matching tag is compared with the target (and at start)"),
    timeout: Duration("60s", "longest wait for the target's answer to one request"),
    max_backoff: Duration("5m", "longest delay between retries of a failing copy"),
  },
  { additionalProperties: false },
);

export type RuleConfig = Static<typeof RuleSchema>;

export interface Rule {
  name: string;
  url: string;
  username: string;
  password: string;
  repositories: string[];
  tags: string[];
  deletes: boolean;
  reconcileMs: number;
  timeoutMs: number;
  maxBackoffMs: number;
  wantsRepository(name: string): boolean;
  wantsTag(tag: string): boolean;
}

/** Applies defaults and checks every rule. @throws ReplicationConfigError naming the key */
export function validateReplicationConfig(raw: readonly unknown[]): Rule[] {
  const rules: Rule[] = [];
  const names = new Set<string>();
  for (const [i, entry] of raw.entries()) {
    const checked = checkConfig(RuleSchema, Value.Default(RuleSchema, structuredClone(entry ?? {})), { key: (path) => `replication[${i}]${path.map((p) => `.${p}`).join("")}` });
    if (!checked.ok) throw new ReplicationConfigError(checked.problem);
    const rule = checked.value;
    const url = rule.url.replace(/\/+$/, "");
    const name = rule.name || new URL(url).host;
    if (names.has(name)) throw new ReplicationConfigError(invalidConfigKey(`replication[${i}].name`, `"${name}" is used twice (name the rules)`));
    names.add(name);
    const repositoryGlobs = rule.repositories.map(globToRegExp);
    const tagGlobs = rule.tags.map(globToRegExp);
    rules.push({
      name,
      url,
      username: rule.username,
      password: rule.password,
      repositories: rule.repositories,
      tags: rule.tags,
      deletes: rule.deletes,
      reconcileMs: parseDuration(rule.reconcile),
      timeoutMs: parseDuration(rule.timeout),
      maxBackoffMs: parseDuration(rule.max_backoff),
      wantsRepository: (repository) => repositoryGlobs.some((glob) => glob.test(repository)),
      wantsTag: (tag) => tagGlobs.some((glob) => glob.test(tag)),
    });
  }
  return rules;
}
