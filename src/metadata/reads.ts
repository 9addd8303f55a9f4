/**
 * The facts the read API and plugins ask of the index (GET /api/v1/repositories…): counts,
 * sizes, dates and pull counts per repository, tag and manifest. Times become ISO strings
 * here; sorting and paging are the caller's (src/registry/repository-facts.ts).
 *
 * A repository's size is the bytes of the distinct blobs its manifests reference (the
 * manifests' own bytes, configs and layers), each digest counted once.
 */
import type { SQL } from "bun";
import type { Platform, RepositoryFacts, TagFacts } from "../hooks/types.ts";
import { num, optNum, optStr, type Row, rowsOf, str, stringMap } from "./rows.ts";

export function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The platforms column: entries with an os and an architecture (anything else is skipped). */
export function platformsOf(row: Row, column: string): Platform[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(str(row, column));
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((entry: unknown): Platform[] => {
    if (typeof entry !== "object" || entry === null) return [];
    const os = "os" in entry ? entry.os : undefined;
    const architecture = "architecture" in entry ? entry.architecture : undefined;
    const variant = "variant" in entry ? entry.variant : undefined;
    if (typeof os !== "string" || typeof architecture !== "string") return [];
    return [typeof variant === "string" ? { os, architecture, variant } : { os, architecture }];
  });
}

/** When each repository last received a manifest (ms). */
export async function pushTimes(sql: SQL): Promise<Map<string, number>> {
  return new Map(rowsOf(await sql`SELECT name, pushed_at FROM repositories`).map((row) => [str(row, "name"), num(row, "pushed_at")]));
}

/** Every repository's size (see the file comment). */
export async function allSizes(sql: SQL): Promise<Map<string, number>> {
  const rows = await sql`
    SELECT repository, CAST(sum(size) AS BIGINT) AS size FROM (
      SELECT repository, digest, max(size) AS size FROM (
        SELECT repository, digest, size FROM manifests
        UNION ALL
        SELECT repository, child AS digest, size FROM manifest_references WHERE kind = 'blob'
      ) AS refs GROUP BY repository, digest
    ) AS distinct_refs GROUP BY repository`;
  return new Map(rowsOf(rows).map((row) => [str(row, "repository"), num(row, "size")]));
}

/** The facts of the named repositories; one the index does not know gets zeros and null dates. */
export async function repositorySummaries(sql: SQL, names: readonly string[]): Promise<RepositoryFacts[]> {
  if (names.length === 0) return [];
  const list = [...names];
  const pushed = new Map(
    rowsOf(await sql`SELECT name, pushed_at FROM repositories WHERE name IN ${sql(list)}`).map((row) => [str(row, "name"), num(row, "pushed_at")]),
  );
  const tags = new Map(
    rowsOf(await sql`SELECT repository, count(*) AS n FROM tags WHERE repository IN ${sql(list)} GROUP BY repository`).map((row) => [
      str(row, "repository"),
      num(row, "n"),
    ]),
  );
  const manifests = new Map(
    rowsOf(await sql`SELECT repository, count(*) AS n, max(last_pulled_at) AS pulled FROM manifests WHERE repository IN ${sql(list)} GROUP BY repository`).map(
      (row) => [str(row, "repository"), { count: num(row, "n"), pulled: optNum(row, "pulled") }],
    ),
  );
  const sizes = new Map(
    rowsOf(
      await sql`
        SELECT repository, CAST(sum(size) AS BIGINT) AS size FROM (
          SELECT repository, digest, max(size) AS size FROM (
            SELECT repository, digest, size FROM manifests WHERE repository IN ${sql(list)}
            UNION ALL
            SELECT repository, child AS digest, size FROM manifest_references WHERE kind = 'blob' AND repository IN ${sql(list)}
          ) AS refs GROUP BY repository, digest
        ) AS distinct_refs GROUP BY repository`,
    ).map((row) => [str(row, "repository"), num(row, "size")]),
  );
  return list.map((name) => ({
    name,
    tags: tags.get(name) ?? 0,
    manifests: manifests.get(name)?.count ?? 0,
    size: sizes.get(name) ?? 0,
    pushedAt: isoTime(pushed.get(name) ?? null),
    pulledAt: isoTime(manifests.get(name)?.pulled ?? null),
  }));
}

/** Every tag of the repository with its manifest's facts, unsorted; the raw time for sorting. */
export async function tagSummaries(sql: SQL, repository: string): Promise<Array<TagFacts & { updatedMs: number }>> {
  const rows = await sql`
    SELECT t.tag, t.digest, t.updated_at, m.media_type, m.total_size, m.platforms, m.last_pulled_at, m.pull_count
    FROM tags t LEFT JOIN manifests m ON m.repository = t.repository AND m.digest = t.digest
    WHERE t.repository = ${repository}`;
  return rowsOf(rows).map((row) => {
    const updatedMs = num(row, "updated_at");
    return {
      name: str(row, "tag"),
      digest: str(row, "digest"),
      mediaType: optStr(row, "media_type") ?? "",
      size: optNum(row, "total_size") ?? 0,
      platforms: row.platforms === null || row.platforms === undefined ? [] : platformsOf(row, "platforms"),
      pushedAt: new Date(updatedMs).toISOString(),
      pulledAt: isoTime(optNum(row, "last_pulled_at")),
      pullCount: optNum(row, "pull_count") ?? 0,
      updatedMs,
    };
  });
}

/** What the index adds to a manifest's own bytes; null when it does not know the manifest. */
export interface IndexedManifest {
  totalSize: number;
  platforms: Platform[];
  labels: Record<string, string>;
  created: string | null;
  pushedAt: string;
  pulledAt: string | null;
  pullCount: number;
  /** tags naming it (unsorted) */
  tags: string[];
  /** indexes in the repository listing it */
  indexes: string[];
}

export async function indexedManifest(sql: SQL, repository: string, digest: string): Promise<IndexedManifest | null> {
  const [row] = rowsOf(await sql`
    SELECT total_size, platforms, labels, created, pushed_at, last_pulled_at, pull_count
    FROM manifests WHERE repository = ${repository} AND digest = ${digest}`);
  if (!row) return null;
  const tags = rowsOf(await sql`SELECT tag FROM tags WHERE repository = ${repository} AND digest = ${digest}`).map((r) => str(r, "tag"));
  const indexes = rowsOf(await sql`
    SELECT digest FROM manifest_references WHERE repository = ${repository} AND child = ${digest} AND kind = 'manifest'
    ORDER BY digest`).map((r) => str(r, "digest"));
  return {
    totalSize: num(row, "total_size"),
    platforms: platformsOf(row, "platforms"),
    labels: stringMap(row, "labels") ?? {},
    created: optStr(row, "created"),
    pushedAt: new Date(num(row, "pushed_at")).toISOString(),
    pulledAt: isoTime(optNum(row, "last_pulled_at")),
    pullCount: num(row, "pull_count"),
    tags,
    indexes,
  };
}

/** Total sizes of the named manifests of a repository (an index's children). */
export async function totalSizes(sql: SQL, repository: string, digests: readonly string[]): Promise<Map<string, number>> {
  if (digests.length === 0) return new Map();
  const rows = await sql`SELECT digest, total_size FROM manifests WHERE repository = ${repository} AND digest IN ${sql([...digests])}`;
  return new Map(rowsOf(rows).map((row) => [str(row, "digest"), num(row, "total_size")]));
}

/** The manifests of a repository as a delete announces them. */
export async function manifestsOf(sql: SQL, repository: string): Promise<Array<{ digest: string; mediaType: string; size: number }>> {
  const rows = await sql`SELECT digest, media_type, size FROM manifests WHERE repository = ${repository} ORDER BY digest`;
  return rowsOf(rows).map((row) => ({ digest: str(row, "digest"), mediaType: str(row, "media_type"), size: num(row, "size") }));
}

export async function tagCount(sql: SQL, repository: string): Promise<number> {
  const [row] = rowsOf(await sql`SELECT count(*) AS n FROM tags WHERE repository = ${repository}`);
  return row ? num(row, "n") : 0;
}
