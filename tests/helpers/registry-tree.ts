/**
 * Writes Distribution's (registry:2) on-disk layout directly, fast: many repositories for the
 * tests that need a big tree Berth has never indexed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { MT, sha256, utf8 } from "./oci.ts";

const V2 = "docker/registry/v2";

function put(root: string, path: string, content: string | Uint8Array): void {
  const full = join(root, V2, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

function putBlob(root: string, bytes: Uint8Array): { digest: string; size: number } {
  const digest = sha256(bytes);
  const hex = digest.slice("sha256:".length);
  put(root, `blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, bytes);
  return { digest, size: bytes.byteLength };
}

export interface WrittenImage {
  repository: string;
  tag: string;
  digest: string;
}

/**
 * `count` repositories named `<prefix>-<i>`, each with one image tagged v1: its own config and a
 * layer all of them share, linked as Distribution links them.
 */
export function writeRepositories(root: string, prefix: string, count: number): WrittenImage[] {
  const layer = putBlob(root, utf8(`a layer every ${prefix} repository shares`));
  const written: WrittenImage[] = [];
  for (let i = 0; i < count; i++) {
    const repository = `${prefix}-${i}`;
    const config = putBlob(root, utf8(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, n: i })));
    const manifest = putBlob(
      root,
      utf8(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MT.ociManifest,
          config: { mediaType: MT.ociConfig, ...config },
          layers: [{ mediaType: MT.ociLayer, ...layer }],
        }),
      ),
    );
    const repo = `repositories/${repository}`;
    for (const d of [config.digest, layer.digest]) put(root, `${repo}/_layers/sha256/${d.slice(7)}/link`, d);
    put(root, `${repo}/_manifests/revisions/sha256/${manifest.digest.slice(7)}/link`, manifest.digest);
    put(root, `${repo}/_manifests/tags/v1/current/link`, manifest.digest);
    put(root, `${repo}/_manifests/tags/v1/index/sha256/${manifest.digest.slice(7)}/link`, manifest.digest);
    written.push({ repository, tag: "v1", digest: manifest.digest });
  }
  return written;
}
