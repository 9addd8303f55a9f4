/** The rule evaluation and the configuration checks of the retention plugin, in process. */
import { describe, expect, test } from "bun:test";
import { RetentionConfigError, validateRetentionConfig } from "../../../plugins/retention/config.ts";
import { judgeTags, type TagState } from "../../../plugins/retention/rules.ts";
import { parseByteSize } from "../../../plugins/retention/sizes.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-06-30T00:00:00Z");

function policy(rules: unknown[], keep: "any" | "all" = "any") {
  const config = validateRetentionConfig({ retention: { policies: [{ repositories: ["**"], keep, rules }] } });
  const first = config.policies[0];
  if (!first) throw new Error("no policy");
  return first;
}

/** tags pushed one day apart, oldest first; `pulledDaysAgo` per tag (absent: never pulled) */
function tags(names: string[], pulledDaysAgo: Record<string, number> = {}): TagState[] {
  return names.map((name, i) => ({
    name,
    digest: `sha256:${String(i).padStart(64, "0")}`,
    pushedMs: NOW - (names.length - i) * DAY,
    pulledMs: pulledDaysAgo[name] === undefined ? null : NOW - (pulledDaysAgo[name] as number) * DAY,
  }));
}

function removed(verdicts: Map<string, string[]>): string[] {
  return [...verdicts].filter(([, reasons]) => reasons.length > 0).map(([name]) => name).sort();
}

describe("retention rules", () => {
  const all = tags(["a", "b", "c", "d"], { a: 1, b: 40 });

  test("most_recent keeps the N last pushed", () => {
    expect(removed(judgeTags(policy([{ most_recent: 2 }]), all, NOW))).toEqual(["a", "b"]);
  });
  test("most_recently_pulled keeps the N last pulled; never pulled is not among them", () => {
    expect(removed(judgeTags(policy([{ most_recently_pulled: 1 }]), all, NOW))).toEqual(["b", "c", "d"]);
  });
  test("pushed_within and pulled_within", () => {
    expect(removed(judgeTags(policy([{ pushed_within: "2d" }]), all, NOW))).toEqual(["a", "b"]);
    expect(removed(judgeTags(policy([{ pulled_within: "30d" }]), all, NOW))).toEqual(["b", "c", "d"]);
  });
  test("keys inside a rule must all hold; rules combine by keep", () => {
    const rules = [{ tags: ["c", "d"], most_recent: 1 }, { pulled_within: "30d" }];
    expect(removed(judgeTags(policy(rules, "any"), all, NOW))).toEqual(["b", "c"]);
    expect(removed(judgeTags(policy(rules, "all"), all, NOW))).toEqual(["a", "b", "c", "d"]);
  });
  test("most_recent_per_group groups by the regex's capture groups", () => {
    const versions = tags(["v1.0.0", "v1.0.1", "v1.1.0", "v1.1.1", "v2.0.0", "other"]);
    const verdicts = judgeTags(policy([{ tags: ["/^v(\\d+)\\.(\\d+)\\./"], most_recent_per_group: 1 }]), versions, NOW);
    expect(removed(verdicts)).toEqual(["other", "v1.0.0", "v1.1.0"]);
    expect(verdicts.get("v1.0.0")?.[0]).toContain("not among the 1 most recent of its group");
    expect(verdicts.get("other")?.[0]).toContain("tag does not match");
  });
  test("a policy without rules keeps every tag", () => {
    expect(removed(judgeTags(policy([]), all, NOW))).toEqual([]);
  });
});

describe("retention configuration", () => {
  const refused = (options: Parameters<typeof validateRetentionConfig>[0]) => {
    try {
      validateRetentionConfig(options);
    } catch (error) {
      expect(error).toBeInstanceOf(RetentionConfigError);
      return (error as Error).message;
    }
    throw new Error("accepted");
  };
  test("each mistake names its key", () => {
    expect(refused({ retention: { policies: [{ repositories: ["a/**"], rules: [{}] }] } })).toContain("retention.policies[0].rules[0]");
    expect(refused({ retention: { policies: [{ repositories: ["a/**"], rules: [{ most_recnt: 3 }] }] } })).toContain("most_recnt");
    expect(refused({ retention: { policies: [{ repositories: ["a"], rules: [{ tags: ["v*"], most_recent_per_group: 2 }] }] } })).toContain("capture group");
    expect(refused({ retention: { policies: [{ repositories: ["a"], rules: [{ tags: ["/(/"] }] }] } })).toContain("not a regular expression");
    expect(refused({ retention: { undo_window: "soon" } })).toContain("retention.undo_window");
    expect(refused({ quota: [{ repositories: ["a/**"], max_bytes: "lots" }] })).toContain("quota[0].max_bytes");
    expect(refused({ immutable: [{ repositories: ["a"] }] })).toContain("immutable[0]");
  });
  test("sizes", () => {
    expect(parseByteSize("50GiB")).toBe(50 * 2 ** 30);
    expect(parseByteSize("1.5 MB")).toBe(1_500_000);
    expect(parseByteSize(1024)).toBe(1024);
    expect(parseByteSize("-1")).toBeNull();
    expect(parseByteSize("12 parsecs")).toBeNull();
  });
});
