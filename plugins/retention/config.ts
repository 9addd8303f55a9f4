/**
 * The retention plugin's sections of registry.toml: [retention] (policies, undo window),
 * [[immutable]] and [[quota]], checked and compiled (globs and regexes, durations in ms, sizes
 * in bytes).
 */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { globToRegExp } from "../../src/oci/glob.ts";
import { checkConfig, Duration, invalidConfigKey } from "../../src/util/config-schema.ts";
import { DURATION_PATTERN, parseDuration } from "../../src/util/duration.ts";
import { parseByteSize } from "./sizes.ts";

export class RetentionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RetentionConfigError";
  }
}

const OptionalDuration = (description: string) => Type.Optional(Type.String({ pattern: DURATION_PATTERN, description }));
const Count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));
const Globs = (description: string) => Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description });

const RuleSchema = Type.Object(
  {
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: "tag globs or /regex/" })),
    most_recent: Count("keep the N most recently pushed tags"),
    most_recently_pulled: Count("keep the N most recently pulled tags"),
    pushed_within: OptionalDuration("keep tags pushed within this long"),
    pulled_within: OptionalDuration("keep tags pulled within this long"),
    most_recent_per_group: Type.Optional(Type.Integer({ minimum: 1, description: "keep N per group named by the tags regex's capture groups" })),
  },
  { additionalProperties: false },
);

const PolicySchema = Type.Object(
  {
    repositories: Globs("repository globs"),
    untagged: OptionalDuration("untagged manifests older than this go"),
    keep: Type.Union([Type.Literal("any"), Type.Literal("all")], { default: "any", description: "a tag is kept when any rule keeps it, or only when all do" }),
    rules: Type.Array(RuleSchema, { default: [] }),
    schedule: OptionalDuration("run this policy every so often"),
    dry_run: Type.Boolean({ default: false, description: "report only, delete nothing" }),
  },
  { additionalProperties: false },
);

const RetentionSchema = Type.Object(
  {
    policies: Type.Array(PolicySchema, { default: [] }),
    undo_window: Duration("7d", "tags removed by retention stay restorable this long"),
  },
  { default: {}, additionalProperties: false },
);

const ImmutableSchema = Type.Object(
  {
    repositories: Globs("repository globs"),
    tags: Globs("tag globs or /regex/"),
    exempt_signatures: Type.Boolean({ default: true, description: "cosign's sha256-<hex>.sig/.att/.sbom tags stay writable" }),
  },
  { additionalProperties: false },
);

const QuotaSchema = Type.Object(
  {
    repositories: Globs("repository globs"),
    max_bytes: Type.Union([Type.String({ minLength: 1 }), Type.Integer({ minimum: 0 })], { description: 'a size such as "50GiB"' }),
  },
  { additionalProperties: false },
);

export interface Rule {
  /** 1-based, as the operator counts them in reasons */
  number: number;
  tags: TagPattern[] | null;
  mostRecent: number | null;
  mostRecentlyPulled: number | null;
  pushedWithinMs: number | null;
  pulledWithinMs: number | null;
  mostRecentPerGroup: number | null;
  /** how the rule reads in a reason: `tags v*; most_recent 10` */
  text: string;
}

export interface TagPattern {
  source: string;
  regex: RegExp;
}

export interface Policy {
  number: number;
  repositories: string[];
  matches(repository: string): boolean;
  untaggedMs: number | null;
  keep: "any" | "all";
  rules: Rule[];
  scheduleMs: number | null;
  dryRun: boolean;
}

export interface ImmutableRule {
  number: number;
  repositories: string[];
  tags: TagPattern[];
  matchesRepository(repository: string): boolean;
  exemptSignatures: boolean;
}

export interface Quota {
  number: number;
  repositories: string[];
  matches(repository: string): boolean;
  maxBytes: number;
  /** "50GiB" as written */
  limitText: string;
}

export interface RetentionConfig {
  policies: Policy[];
  undoWindowMs: number;
  immutable: ImmutableRule[];
  quotas: Quota[];
}

export interface RetentionOptions {
  retention?: unknown;
  immutable?: unknown;
  quota?: unknown;
}

function check<T extends Parameters<typeof checkConfig>[0]>(schema: T, raw: unknown, prefix: string): Static<T> {
  const key = (path: string[]) => `${prefix}${path.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join("")}`;
  const checked = checkConfig(schema, Value.Default(schema, structuredClone(raw)), { key });
  if (!checked.ok) throw new RetentionConfigError(checked.problem);
  return checked.value;
}

export function tagPattern(source: string, key: string): TagPattern {
  if (source.length > 2 && source.startsWith("/") && source.endsWith("/")) {
    try {
      return { source, regex: new RegExp(source.slice(1, -1)) };
    } catch (error) {
      throw new RetentionConfigError(invalidConfigKey(key, `not a regular expression: ${(error as Error).message}`));
    }
  }
  return { source, regex: globToRegExp(source) };
}

function anyOf(globs: string[]): (name: string) => boolean {
  const patterns = globs.map(globToRegExp);
  return (name) => patterns.some((pattern) => pattern.test(name));
}

function compileRule(raw: Static<typeof RuleSchema>, number: number, key: string): Rule {
  const tags = raw.tags ? raw.tags.map((source, i) => tagPattern(source, `${key}.tags[${i}]`)) : null;
  const parts: string[] = [];
  if (raw.tags) parts.push(`tags ${raw.tags.join(", ")}`);
  for (const name of ["most_recent", "most_recently_pulled", "pushed_within", "pulled_within", "most_recent_per_group"] as const) {
    if (raw[name] !== undefined) parts.push(`${name} ${raw[name]}`);
  }
  if (parts.length === 0) throw new RetentionConfigError(invalidConfigKey(key, "a rule needs at least one key (tags, most_recent, pulled_within...)"));
  if (raw.most_recent_per_group !== undefined && !tags?.some((tag) => tag.source.startsWith("/") && new RegExp(`${tag.regex.source}|`).exec("")!.length > 1)) {
    throw new RetentionConfigError(invalidConfigKey(`${key}.most_recent_per_group`, "needs a tags /regex/ with a capture group that names the group"));
  }
  return {
    number,
    tags,
    mostRecent: raw.most_recent ?? null,
    mostRecentlyPulled: raw.most_recently_pulled ?? null,
    pushedWithinMs: raw.pushed_within === undefined ? null : parseDuration(raw.pushed_within),
    pulledWithinMs: raw.pulled_within === undefined ? null : parseDuration(raw.pulled_within),
    mostRecentPerGroup: raw.most_recent_per_group ?? null,
    text: parts.join("; "),
  };
}

/** @throws RetentionConfigError naming the key */
export function validateRetentionConfig(options: RetentionOptions): RetentionConfig {
  const retention = check(RetentionSchema, options.retention ?? {}, "retention");
  const immutable = check(Type.Array(ImmutableSchema), options.immutable ?? [], "immutable");
  const quotas = check(Type.Array(QuotaSchema), options.quota ?? [], "quota");
  return {
    undoWindowMs: parseDuration(retention.undo_window),
    policies: retention.policies.map((policy, i) => ({
      number: i + 1,
      repositories: policy.repositories,
      matches: anyOf(policy.repositories),
      untaggedMs: policy.untagged === undefined ? null : parseDuration(policy.untagged),
      keep: policy.keep,
      rules: policy.rules.map((rule, j) => compileRule(rule, j + 1, `retention.policies[${i}].rules[${j}]`)),
      scheduleMs: policy.schedule === undefined ? null : parseDuration(policy.schedule),
      dryRun: policy.dry_run,
    })),
    immutable: immutable.map((rule, i) => ({
      number: i + 1,
      repositories: rule.repositories,
      tags: rule.tags.map((source, j) => tagPattern(source, `immutable[${i}].tags[${j}]`)),
      matchesRepository: anyOf(rule.repositories),
      exemptSignatures: rule.exempt_signatures,
    })),
    quotas: quotas.map((quota, i) => {
      const maxBytes = parseByteSize(quota.max_bytes);
      if (maxBytes === null) throw new RetentionConfigError(invalidConfigKey(`quota[${i}].max_bytes`, `not a size such as "50GiB"; got ${JSON.stringify(quota.max_bytes)}`));
      return { number: i + 1, repositories: quota.repositories, matches: anyOf(quota.repositories), maxBytes, limitText: String(quota.max_bytes) };
    }),
  };
}

/** Does the configuration ask anything of the plugin? */
export function retentionWanted(config: RetentionConfig): boolean {
  return config.policies.length > 0 || config.immutable.length > 0 || config.quotas.length > 0;
}
