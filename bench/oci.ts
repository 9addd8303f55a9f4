/**
 * A small OCI Distribution client over fetch: the requests the workloads time.
 * Big bodies are Bun.file blobs (streamed from disk), responses are drained, never buffered.
 */
import type { BlobFile } from "./data.ts";
import { digestOf } from "./data.ts";
import { rawGet } from "./rawget.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
const OCTET = "application/octet-stream";
const REDIRECTS = [301, 302, 303, 307, 308];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export class RegistryError extends Error {}

async function expect(res: Response, ok: readonly number[], what: string): Promise<Response> {
  if (ok.includes(res.status)) return res;
  const body = (await res.text().catch(() => "")).slice(0, 300);
  throw new RegistryError(`${what}: HTTP ${res.status} ${body}`);
}

export class RegistryClient {
  constructor(readonly base: string) {}

  private url(path: string): string {
    return `${this.base}${path}`;
  }

  /** POST /v2/<repo>/blobs/uploads/ -> absolute upload URL. */
  async startUpload(repo: string): Promise<URL> {
    const res = await expect(
      await fetch(this.url(`/v2/${repo}/blobs/uploads/`), { method: "POST" }),
      [202],
      `POST upload ${repo}`,
    );
    await res.arrayBuffer();
    return this.location(res);
  }

  private location(res: Response): URL {
    const location = res.headers.get("location");
    if (!location) throw new RegistryError(`HTTP ${res.status} without Location`);
    return new URL(location, this.base);
  }

  /** Monolithic upload: POST, then PUT ?digest= with the whole body. */
  async pushMonolithic(repo: string, body: Blob | string, digest: string): Promise<void> {
    const upload = await this.startUpload(repo);
    upload.searchParams.set("digest", digest);
    const res = await fetch(upload, { method: "PUT", body, headers: { "content-type": OCTET } });
    await (await expect(res, [201], `PUT blob ${repo}`)).arrayBuffer();
  }

  /** Chunked upload: POST, one PATCH per `chunkBytes` with Content-Range, then PUT ?digest=. */
  async pushChunked(repo: string, file: BlobFile, chunkBytes: number): Promise<void> {
    const blob = Bun.file(file.path);
    let upload = await this.startUpload(repo);
    for (let start = 0; start < file.size; start += chunkBytes) {
      const end = Math.min(file.size, start + chunkBytes);
      const res = await fetch(upload, {
        method: "PATCH",
        body: blob.slice(start, end),
        headers: {
          "content-type": OCTET,
          "content-range": `${start}-${end - 1}`,
          "content-length": String(end - start),
        },
      });
      await (await expect(res, [202], `PATCH ${repo} ${start}-${end - 1}`)).arrayBuffer();
      upload = this.location(res);
    }
    upload.searchParams.set("digest", file.digest);
    const res = await fetch(upload, { method: "PUT", headers: { "content-length": "0" } });
    await (await expect(res, [201], `PUT chunked ${repo}`)).arrayBuffer();
  }

  /**
   * A blob as docker (distribution's client) pushes it: HEAD (absent), POST, one PATCH with the
   * whole body and no Content-Range (streamed), PUT ?digest= with an empty body.
   */
  async pushStreamed(repo: string, body: Blob | string, digest: string): Promise<void> {
    const head = await fetch(this.url(`/v2/${repo}/blobs/${digest}`), { method: "HEAD" });
    await head.arrayBuffer();
    if (head.status !== 404) throw new RegistryError(`HEAD blob ${repo}@${digest}: HTTP ${head.status}, expected 404`);
    const upload = await this.startUpload(repo);
    const patched = await fetch(upload, { method: "PATCH", body, headers: { "content-type": OCTET } });
    await (await expect(patched, [202], `PATCH ${repo}`)).arrayBuffer();
    const done = this.location(patched);
    done.searchParams.set("digest", digest);
    const res = await fetch(done, { method: "PUT", headers: { "content-length": "0" } });
    await (await expect(res, [201], `PUT ${repo}`)).arrayBuffer();
  }

  /** Cross-repository mount; false when the registry answered with an upload session instead. */
  async mount(repo: string, from: string, digest: string): Promise<boolean> {
    const query = `mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const res = await expect(
      await fetch(this.url(`/v2/${repo}/blobs/uploads/?${query}`), { method: "POST" }),
      [201, 202],
      `mount ${digest} into ${repo}`,
    );
    await res.arrayBuffer();
    if (res.status === 201) return true;
    await fetch(this.location(res), { method: "DELETE" }).then((r) => r.arrayBuffer()).catch(() => undefined);
    return false;
  }

  async putManifest(repo: string, reference: string, manifest: string): Promise<void> {
    const res = await fetch(this.url(`/v2/${repo}/manifests/${reference}`), {
      method: "PUT",
      body: manifest,
      headers: { "content-type": OCI_MANIFEST },
    });
    await (await expect(res, [201], `PUT manifest ${repo}:${reference}`)).arrayBuffer();
  }

  async headManifest(repo: string, reference: string): Promise<void> {
    const res = await fetch(this.url(`/v2/${repo}/manifests/${reference}`), {
      method: "HEAD",
      headers: { accept: OCI_MANIFEST },
    });
    await (await expect(res, [200], `HEAD manifest ${repo}:${reference}`)).arrayBuffer();
  }

  async getManifest(repo: string, reference: string): Promise<string> {
    const res = await fetch(this.url(`/v2/${repo}/manifests/${reference}`), { headers: { accept: OCI_MANIFEST } });
    return (await expect(res, [200], `GET manifest ${repo}:${reference}`)).text();
  }

  /** GET a blob on a raw socket (following redirects) and count its bytes without keeping them. */
  async drainBlob(repo: string, digest: string): Promise<number> {
    let url = this.url(`/v2/${repo}/blobs/${digest}`);
    for (let hop = 0; hop < 3; hop++) {
      const res = await rawGet(url);
      if (res.status === 200) return res.bytes;
      if (!REDIRECTS.includes(res.status) || !res.location) break;
      url = new URL(res.location, url).href;
    }
    throw new RegistryError(`GET blob ${repo}@${digest} did not answer 200`);
  }

  /** GET any path; returns the status and body size (drained). */
  async getDrain(path: string): Promise<{ status: number; bytes: number }> {
    const res = await fetch(this.url(path));
    return { status: res.status, bytes: await drain(res) };
  }
}

export async function drain(res: Response): Promise<number> {
  if (!res.body) return 0;
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.byteLength;
  return bytes;
}

/** A minimal OCI image config; `nonce` makes each pushed image distinct. */
export function imageConfig(layers: readonly Descriptor[], nonce: string): string {
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Labels: { "berth.bench.nonce": nonce } },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
  });
}

export function imageManifest(config: Descriptor, layers: readonly Descriptor[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers });
}

export function describe(body: string, mediaType: string): Descriptor {
  return { mediaType, digest: digestOf(body), size: new TextEncoder().encode(body).byteLength };
}

/** The config and manifest of a one-layer image; the same bytes for the same repo, tag and layer. */
export function oneLayerImage(repo: string, tag: string, layer: BlobFile): { config: string; configDesc: Descriptor; manifest: string } {
  const layerDesc: Descriptor = { mediaType: OCI_LAYER, digest: layer.digest, size: layer.size };
  const config = imageConfig([layerDesc], `${repo}:${tag}:${layer.digest}`);
  const configDesc = describe(config, OCI_CONFIG);
  return { config, configDesc, manifest: imageManifest(configDesc, [layerDesc]) };
}

/** monolithic: POST + PUT ?digest=; chunked: POST, PATCH per chunk, PUT; streamed: as docker does (see pushStreamed) */
export type UploadMode = "monolithic" | "chunked" | "streamed";

/**
 * Pushes a one-layer image: layer blob (as `mode` says), config blob (monolithic, or streamed as
 * docker does), manifest by tag.
 * Returns the bytes sent (layer + config + manifest).
 */
export async function pushImage(
  client: RegistryClient,
  repo: string,
  tag: string,
  layer: BlobFile,
  mode: UploadMode,
  chunkBytes: number,
): Promise<number> {
  if (mode === "chunked") await client.pushChunked(repo, layer, chunkBytes);
  else if (mode === "streamed") await client.pushStreamed(repo, Bun.file(layer.path), layer.digest);
  else await client.pushMonolithic(repo, Bun.file(layer.path), layer.digest);
  const { config, configDesc, manifest } = oneLayerImage(repo, tag, layer);
  if (mode === "streamed") await client.pushStreamed(repo, config, configDesc.digest);
  else await client.pushMonolithic(repo, config, configDesc.digest);
  await client.putManifest(repo, tag, manifest);
  return layer.size + configDesc.size + manifest.length;
}
