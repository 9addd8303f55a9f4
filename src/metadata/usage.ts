/**
 * Bytes stored, per repository and per namespace (the first path component of a name), split
 * into unique bytes (blobs nothing outside the repository or namespace references: what
 * deleting it would free) and shared ones. Blobs are the manifests' own bytes, configs and
 * layers, each digest counted once per repository.
 *
 * The database sums what only one repository references; only the blobs several repositories
 * share come back as rows (usually a few base layers), from which the namespaces are summed
 * here: the statements stay the same on SQLite and PostgreSQL, which split strings differently.
 */
import type { SQL } from "bun";
import type { UsageEntry, UsageFacts } from "../hooks/types.ts";
import { num, rowsOf, str } from "./rows.ts";

interface RepositoryBytes {
  name: string;
  size: number;
  unique: number;
}

interface SharedReference {
  repository: string;
  digest: string;
  size: number;
}

/** The namespace of a repository name: its first path component. */
export function namespaceOf(repository: string): string {
  const slash = repository.indexOf("/");
  return slash < 0 ? repository : repository.slice(0, slash);
}

/** Each (repository, blob) a repository references once, and in how many repositories each blob is. */
const REFERENCES = `
    WITH refs AS (
      SELECT repository, digest, max(size) AS size FROM (
        SELECT repository, digest, size FROM manifests
        UNION ALL
        SELECT repository, child AS digest, size FROM manifest_references WHERE kind = 'blob'
      ) AS r GROUP BY repository, digest
    ), spread AS (SELECT digest, count(*) AS n FROM refs GROUP BY digest)`;

async function repositoryBytes(sql: SQL): Promise<RepositoryBytes[]> {
  const rows = await sql.unsafe(`${REFERENCES}
    SELECT refs.repository AS repository, CAST(sum(refs.size) AS BIGINT) AS size,
           CAST(sum(CASE WHEN spread.n = 1 THEN refs.size ELSE 0 END) AS BIGINT) AS unique_size
    FROM refs JOIN spread ON spread.digest = refs.digest
    GROUP BY refs.repository`);
  return rowsOf(rows).map((row) => ({ name: str(row, "repository"), size: num(row, "size"), unique: num(row, "unique_size") }));
}

async function sharedReferences(sql: SQL): Promise<SharedReference[]> {
  const rows = await sql.unsafe(`${REFERENCES}
    SELECT refs.repository AS repository, refs.digest AS digest, refs.size AS size
    FROM refs JOIN spread ON spread.digest = refs.digest
    WHERE spread.n > 1`);
  return rowsOf(rows).map((row) => ({ repository: str(row, "repository"), digest: str(row, "digest"), size: num(row, "size") }));
}

async function blobTotals(sql: SQL): Promise<{ storedBytes: number; storedBlobs: number; gcWaitingBytes: number; gcWaitingBlobs: number; uploadsInProgress: number }> {
  const [all] = rowsOf(await sql`SELECT count(*) AS n, CAST(COALESCE(sum(size), 0) AS BIGINT) AS bytes FROM blobs`);
  const [waiting] = rowsOf(await sql`SELECT count(*) AS n, CAST(COALESCE(sum(size), 0) AS BIGINT) AS bytes FROM blobs WHERE review_at IS NOT NULL`);
  const [uploads] = rowsOf(await sql`SELECT count(*) AS n FROM uploads`);
  return {
    uploadsInProgress: uploads ? num(uploads, "n") : 0,
    storedBytes: all ? num(all, "bytes") : 0,
    storedBlobs: all ? num(all, "n") : 0,
    gcWaitingBytes: waiting ? num(waiting, "bytes") : 0,
    gcWaitingBlobs: waiting ? num(waiting, "n") : 0,
  };
}

const bySize = (a: UsageEntry, b: UsageEntry) => b.size - a.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export async function usage(sql: SQL): Promise<UsageFacts> {
  const repositories = await repositoryBytes(sql);
  const shared = await sharedReferences(sql);

  // per namespace: its repositories' unique bytes, plus each shared blob once; unique when
  // every repository referencing the blob is in the namespace
  const namespaces = new Map<string, UsageEntry & { repositories: number }>();
  for (const repository of repositories) {
    const name = namespaceOf(repository.name);
    const entry = namespaces.get(name) ?? { name, size: 0, unique: 0, shared: 0, repositories: 0 };
    entry.size += repository.unique;
    entry.unique += repository.unique;
    entry.repositories++;
    namespaces.set(name, entry);
  }
  const sharedBlobs = new Map<string, { size: number; namespaces: Set<string> }>();
  for (const reference of shared) {
    const blob = sharedBlobs.get(reference.digest) ?? { size: reference.size, namespaces: new Set<string>() };
    blob.namespaces.add(namespaceOf(reference.repository));
    sharedBlobs.set(reference.digest, blob);
  }
  let referencedBytes = repositories.reduce((sum, repository) => sum + repository.unique, 0);
  for (const blob of sharedBlobs.values()) {
    referencedBytes += blob.size;
    for (const name of blob.namespaces) {
      const entry = namespaces.get(name);
      if (!entry) continue;
      entry.size += blob.size;
      if (blob.namespaces.size === 1) entry.unique += blob.size;
    }
  }
  for (const entry of namespaces.values()) entry.shared = entry.size - entry.unique;

  return {
    ...(await blobTotals(sql)),
    referencedBytes,
    repositories: repositories.map((r) => ({ name: r.name, size: r.size, unique: r.unique, shared: r.size - r.unique })).sort(bySize),
    namespaces: [...namespaces.values()].sort(bySize),
  };
}
