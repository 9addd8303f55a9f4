/**
 * Writes a registry tree directly in Distribution's layout (what registry:2 and Berth write
 * under docker/registry/v2/), so the GC and index rows start from thousands of blobs or
 * repositories in seconds instead of pushing them. Nothing is fsynced file by file: one
 * `sync` at the end puts the whole tree on disk before anything is timed.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { digestOf } from "./data.ts";
import type { Descriptor } from "./oci.ts";
import { describe, imageConfig, imageManifest, OCI_CONFIG, OCI_LAYER } from "./oci.ts";

const V2 = "docker/registry/v2";

function hexOf(digest: string): string {
  return digest.slice("sha256:".length);
}

export class TreeWriter {
  constructor(readonly root: string) {}

  private write(path: string, content: string | Uint8Array): void {
    const target = join(this.root, V2, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }

  /** Stores bytes as a blob; returns its digest. */
  blob(content: string | Uint8Array): string {
    const digest = digestOf(content);
    const hex = hexOf(digest);
    this.write(`blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, content);
    return digest;
  }

  /** A blob pushed or mounted into a repository (_layers link). */
  linkLayer(repository: string, digest: string): void {
    this.write(`repositories/${repository}/_layers/sha256/${hexOf(digest)}/link`, digest);
  }

  /** A random blob of `size` bytes linked into `repository`, as an upload leaves it. */
  layer(repository: string, size: number): Descriptor {
    const digest = this.blob(randomBytes(size));
    this.linkLayer(repository, digest);
    return { mediaType: OCI_LAYER, digest, size };
  }

  /** An OCI image manifest stored in the repository under `tag`; returns its digest. */
  image(repository: string, tag: string, config: Descriptor, layers: readonly Descriptor[]): string {
    const digest = this.blob(imageManifest(config, layers));
    const hex = hexOf(digest);
    const manifests = `repositories/${repository}/_manifests`;
    this.write(`${manifests}/revisions/sha256/${hex}/link`, digest);
    this.write(`${manifests}/tags/${tag}/current/link`, digest);
    this.write(`${manifests}/tags/${tag}/index/sha256/${hex}/link`, digest);
    return digest;
  }

  /** A config blob for `layers`, linked into the repository. */
  config(repository: string, layers: readonly Descriptor[], nonce: string): Descriptor {
    const body = imageConfig(layers, nonce);
    const descriptor = describe(body, OCI_CONFIG);
    this.blob(body);
    this.linkLayer(repository, descriptor.digest);
    return descriptor;
  }

  /** How many blobs the tree holds (directories under blobs/sha256/<2 hex>/). */
  countBlobs(): number {
    const base = join(this.root, V2, "blobs/sha256");
    let n = 0;
    for (const prefix of readdirSync(base)) n += readdirSync(join(base, prefix)).length;
    return n;
  }
}

export interface GcTree {
  live: number;
  unreferenced: number;
  repositories: number;
}

/**
 * A tree of `blobs` blobs of which `unreferenced` were uploaded into a repository but no
 * manifest names them; the live ones are images of one manifest, one config and seven 1 KiB
 * layers (9 blobs), ten images per repository.
 */
export function writeGcTree(root: string, blobs: number, unreferenced: number): GcTree {
  const perImage = 9;
  const images = Math.max(1, Math.floor((blobs - unreferenced) / perImage));
  const repositories = Math.max(1, Math.ceil(images / 10));
  const tree = new TreeWriter(root);
  const repo = (i: number) => `bench/gc-${String(i % repositories).padStart(5, "0")}`;
  for (let i = 0; i < images; i++) {
    const layers = Array.from({ length: perImage - 2 }, () => tree.layer(repo(i), 1024));
    const config = tree.config(repo(i), layers, `gc-${i}`);
    tree.image(repo(i), `v${i}`, config, layers);
  }
  for (let i = 0; i < unreferenced; i++) tree.layer(repo(i), 1024);
  Bun.spawnSync(["sync"]);
  return { live: images * perImage, unreferenced, repositories };
}

/**
 * `repositories` repositories that each hold the same tiny image tagged v1 (one 1 KiB layer,
 * its config, the manifest), as the catalog row's set-up makes them by cross-repository mount.
 */
export function writeRepositoriesTree(root: string, repositories: number): void {
  const tree = new TreeWriter(root);
  const layerBytes = randomBytes(1024);
  const layer: Descriptor = { mediaType: OCI_LAYER, digest: tree.blob(layerBytes), size: layerBytes.length };
  const configBody = imageConfig([layer], "rebuild");
  const config = describe(configBody, OCI_CONFIG);
  tree.blob(configBody);
  for (let i = 0; i < repositories; i++) {
    const repository = `bench/${String(i).padStart(5, "0")}`;
    tree.linkLayer(repository, layer.digest);
    tree.linkLayer(repository, config.digest);
    tree.image(repository, "v1", config, [layer]);
  }
  Bun.spawnSync(["sync"]);
}
