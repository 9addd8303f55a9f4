/**
 * skopeo and hand-made OCI image layouts (a two-platform index, no network): what the skopeo
 * tests and the replicas' tests copy into Berth and back.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "bun:test";
import { exec } from "./docker.ts";

export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
export const REF_NAME = "org.opencontainers.image.ref.name";

export type Bytes = Uint8Array<ArrayBuffer>;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export function sha256(bytes: Bytes): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** A ustar archive of regular files (deterministic: fixed mtime, uid, gid). */
export function tar(files: { path: string; content: string }[]): Bytes {
  const encoder = new TextEncoder();
  const blocks: Bytes[] = [];
  for (const file of files) {
    const content = encoder.encode(file.content);
    const header = new Uint8Array(512);
    const put = (offset: number, length: number, value: string) => {
      const bytes = encoder.encode(value);
      if (bytes.length > length) throw new Error(`tar field too long: ${value}`);
      header.set(bytes, offset);
    };
    const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, "0")}\0`;
    put(0, 100, file.path);
    put(100, 8, octal(0o644, 8));
    put(108, 8, octal(0, 8));
    put(116, 8, octal(0, 8));
    put(124, 12, octal(content.length, 12));
    put(136, 12, octal(1_700_000_000, 12));
    put(148, 8, "        "); // checksum is computed with this field as spaces
    put(156, 1, "0");
    put(257, 6, "ustar\0");
    put(263, 2, "00");
    put(265, 32, "root");
    put(297, 32, "root");
    const checksum = header.reduce((sum, byte) => sum + byte, 0);
    put(148, 8, `${checksum.toString(8).padStart(6, "0")}\0 `);
    blocks.push(header, content, new Uint8Array((512 - (content.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let offset = 0;
  for (const block of blocks) {
    out.set(block, offset);
    offset += block.length;
  }
  return out;
}

export interface Layout {
  dir: string;
  index: { digest: string; bytes: Bytes };
  children: { platform: string; digest: string; bytes: Bytes; blobs: string[] }[];
}

/** Writes an OCI image layout holding an image index for linux/amd64 and linux/arm64/v8, tagged v1. */
export function writeMultiArchLayout(dir: string, text: string): Layout {
  const blobDir = join(dir, "blobs/sha256");
  mkdirSync(blobDir, { recursive: true });
  const writeBlob = (mediaType: string, bytes: Bytes): Descriptor => {
    const digest = sha256(bytes);
    writeFileSync(join(blobDir, digest.slice("sha256:".length)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const json = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

  const children: Layout["children"] = [];
  const platforms = [
    { architecture: "amd64", os: "linux" },
    { architecture: "arm64", os: "linux", variant: "v8" },
  ];
  const entries: Descriptor[] = [];
  for (const platform of platforms) {
    const name = `${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ""}`;
    const layerTar = tar([
      { path: "etc/berth-platform", content: `${name}\n` },
      { path: "etc/berth-version", content: `${text}\n` },
    ]);
    const layer = writeBlob(OCI_LAYER_GZIP, new Uint8Array(Bun.gzipSync(layerTar)));
    const config = writeBlob(
      OCI_CONFIG,
      json({
        created: "2024-01-01T00:00:00Z",
        ...platform,
        config: { Cmd: ["/bin/cat", "/etc/berth-version"] },
        rootfs: { type: "layers", diff_ids: [sha256(layerTar)] },
        history: [{ created: "2024-01-01T00:00:00Z", created_by: "berth skopeo e2e test" }],
      }),
    );
    const manifestBytes = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config,
      layers: [layer],
      annotations: { "org.opencontainers.image.title": `berth e2e ${name}` },
    });
    const manifest = writeBlob(OCI_MANIFEST, manifestBytes);
    entries.push({ ...manifest, platform });
    children.push({
      platform: name,
      digest: manifest.digest,
      bytes: manifestBytes,
      blobs: [config.digest, layer.digest],
    });
  }
  const indexBytes = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries });
  const index = writeBlob(OCI_INDEX, indexBytes);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...index, annotations: { [REF_NAME]: "v1" } }] }),
  );
  return { dir, index: { digest: index.digest, bytes: indexBytes }, children };
}

export function readLayoutBlob(dir: string, digest: string): Bytes {
  return new Uint8Array(readFileSync(join(dir, "blobs", digest.replace(":", "/"))));
}

export async function skopeo(args: string[]): Promise<string> {
  const result = await exec(["skopeo", "--insecure-policy", ...args], { timeoutMs: 90_000 });
  return result.stdout;
}

/** skopeo copy --all from `host`/`repo`:v1 into a new OCI layout; every digest and byte must match. */
export async function expectCopiesBackIdentical(host: string, repo: string, layout: Layout, back: string): Promise<void> {
  const remote = `docker://${host}/${repo}:v1`;
  await skopeo(["copy", "--all", "--preserve-digests", "--src-tls-verify=false", remote, `oci:${back}:v1`]);
  const backIndex = JSON.parse(readFileSync(join(back, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const entry = backIndex.manifests.find((m) => m.annotations?.[REF_NAME] === "v1");
  expect(entry?.digest).toBe(layout.index.digest);
  expect(entry?.mediaType).toBe(OCI_INDEX);
  expect(readLayoutBlob(back, layout.index.digest)).toEqual(layout.index.bytes);
  for (const child of layout.children) {
    expect(existsSync(join(back, "blobs", child.digest.replace(":", "/")))).toBe(true);
    expect(readLayoutBlob(back, child.digest)).toEqual(child.bytes);
    for (const blob of child.blobs) {
      expect(readLayoutBlob(back, blob)).toEqual(readLayoutBlob(layout.dir, blob));
    }
  }
}

/** skopeo inspect --raw of the tag and of each platform manifest by digest returns the original bytes. */
export async function expectRawManifestsIdentical(host: string, repo: string, layout: Layout): Promise<void> {
  const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${host}/${repo}:v1`]);
  expect(raw).toBe(new TextDecoder().decode(layout.index.bytes));
  for (const child of layout.children) {
    const byDigest = `docker://${host}/${repo}@${child.digest}`;
    const childRaw = await skopeo(["inspect", "--raw", "--tls-verify=false", byDigest]);
    expect(childRaw).toBe(new TextDecoder().decode(child.bytes));
  }
}

export async function pushLayout(host: string, repo: string, layout: Layout): Promise<void> {
  const remote = `docker://${host}/${repo}:v1`;
  await skopeo(["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", `oci:${layout.dir}:v1`, remote]);
}

