/** Reads the registry serves from the index: catalog, tag lists, referrers. */
import type { SQL } from "bun";
import type { Descriptor } from "../oci/manifest.ts";
import { num, optStr, rowsOf, str, stringMap } from "./rows.ts";

export async function repositoryNames(sql: SQL): Promise<string[]> {
  return rowsOf(await sql`SELECT name FROM repositories`).map((row) => str(row, "name"));
}

export async function tagNames(sql: SQL, repository: string): Promise<string[]> {
  return rowsOf(await sql`SELECT tag FROM tags WHERE repository = ${repository}`).map((row) => str(row, "tag"));
}

export async function repositoryKnown(sql: SQL, repository: string): Promise<boolean> {
  return rowsOf(await sql`SELECT 1 AS found FROM repositories WHERE name = ${repository}`).length > 0;
}

/** Descriptors of the manifests in `repository` whose subject is `subject`, by digest. */
export async function referrersOf(sql: SQL, repository: string, subject: string): Promise<Descriptor[]> {
  const rows = rowsOf(await sql`
    SELECT digest, media_type, size, artifact_type, annotations FROM manifests
    WHERE repository = ${repository} AND subject = ${subject} ORDER BY digest`);
  return rows.map((row) => {
    const descriptor: Descriptor = { mediaType: str(row, "media_type"), digest: str(row, "digest"), size: num(row, "size") };
    const artifactType = optStr(row, "artifact_type");
    if (artifactType !== null) descriptor.artifactType = artifactType;
    const annotations = stringMap(row, "annotations");
    if (annotations !== null) descriptor.annotations = annotations;
    return descriptor;
  });
}
