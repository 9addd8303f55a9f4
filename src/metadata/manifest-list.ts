/** Every manifest of a repository with its tags, subject and dates (retention, UIs). */
import type { SQL } from "bun";
import type { ManifestSummary } from "../hooks/types.ts";
import { isoTime } from "./reads.ts";
import { num, optNum, optStr, rowsOf, str } from "./rows.ts";

export async function manifestSummaries(sql: SQL, repository: string): Promise<ManifestSummary[]> {
  const rows = rowsOf(await sql`
    SELECT digest, media_type, artifact_type, subject, size, total_size, pushed_at, last_pulled_at, pull_count
    FROM manifests WHERE repository = ${repository} ORDER BY digest`);
  const tags = new Map<string, string[]>();
  for (const row of rowsOf(await sql`SELECT tag, digest FROM tags WHERE repository = ${repository}`)) {
    const digest = str(row, "digest");
    tags.set(digest, [...(tags.get(digest) ?? []), str(row, "tag")]);
  }
  const indexes = new Map<string, string[]>();
  for (const row of rowsOf(await sql`SELECT digest, child FROM manifest_references WHERE repository = ${repository} AND kind = 'manifest'`)) {
    const child = str(row, "child");
    indexes.set(child, [...(indexes.get(child) ?? []), str(row, "digest")]);
  }
  return rows.map((row) => {
    const digest = str(row, "digest");
    return {
      digest,
      mediaType: str(row, "media_type"),
      artifactType: optStr(row, "artifact_type"),
      subject: optStr(row, "subject"),
      size: num(row, "size"),
      totalSize: num(row, "total_size"),
      tags: (tags.get(digest) ?? []).sort(),
      indexes: (indexes.get(digest) ?? []).sort(),
      pushedAt: new Date(num(row, "pushed_at")).toISOString(),
      pulledAt: isoTime(optNum(row, "last_pulled_at")),
      pullCount: num(row, "pull_count"),
    };
  });
}

export interface RecentPull {
  repository: string;
  digest: string;
  tags: string[];
  pulledAt: string;
  pullCount: number;
}

/** The manifests pulled last, newest first (the web UI's activity). */
export async function recentPulls(sql: SQL, limit: number): Promise<RecentPull[]> {
  const rows = rowsOf(await sql`
    SELECT m.repository, m.digest, m.last_pulled_at, m.pull_count FROM manifests m
    WHERE m.last_pulled_at IS NOT NULL ORDER BY m.last_pulled_at DESC, m.repository, m.digest LIMIT ${limit}`);
  const pulls: RecentPull[] = [];
  for (const row of rows) {
    const repository = str(row, "repository");
    const digest = str(row, "digest");
    const tags = rowsOf(await sql`SELECT tag FROM tags WHERE repository = ${repository} AND digest = ${digest} ORDER BY tag`).map((t) => str(t, "tag"));
    pulls.push({ repository, digest, tags, pulledAt: new Date(num(row, "last_pulled_at")).toISOString(), pullCount: num(row, "pull_count") });
  }
  return pulls;
}
