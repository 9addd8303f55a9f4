/**
 * Copies content to a target: manifests byte for byte (so digests are kept), after what they
 * name (an index's children, an image's config and layers, a referrer's subject); a blob only
 * when the target lacks it (HEAD first, then a cross-repository mount from where this copier
 * put it before, then an upload streamed from storage).
 */
import type { RegistryReader } from "../../src/hooks/types.ts";
import { refused, type Target, TargetError } from "./target.ts";

interface ManifestParts {
  children: string[];
  blobs: string[];
  subject: string | null;
}

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The digests a manifest names, read without trusting its shape. */
export function partsOf(bytes: Uint8Array): ManifestParts {
  const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
  const digestOf = (value: unknown): string | null => {
    if (typeof value !== "object" || value === null || !("digest" in value)) return null;
    const { digest } = value;
    return typeof digest === "string" && DIGEST.test(digest) ? digest : null;
  };
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(digestOf).filter((d): d is string => d !== null) : []);
  if (typeof json !== "object" || json === null) return { children: [], blobs: [], subject: null };
  const fields = json as Record<string, unknown>;
  const layers = Array.isArray(fields.layers)
    ? fields.layers.filter((layer: unknown) => !(typeof layer === "object" && layer !== null && "urls" in layer && Array.isArray(layer.urls) && layer.urls.length > 0))
    : [];
  const config = digestOf(fields.config);
  return { children: list(fields.manifests), blobs: [...(config ? [config] : []), ...list(layers)], subject: digestOf(fields.subject) };
}

export class Copier {
  /** digest -> a repository on the target known to hold it (for mounts) */
  private readonly placed = new Map<string, string>();

  constructor(
    private readonly reader: RegistryReader,
    private readonly target: Target,
  ) {}

  /** Copies what `reference` (a tag or a digest) names here; false when it is not here (any more). */
  async copy(repository: string, reference: string): Promise<boolean> {
    const manifest = await this.reader.manifest(repository, reference);
    if (manifest === null) return false;
    const isTag = !reference.includes(":");
    if (await this.targetHas(repository, reference, manifest.digest)) return true;
    await this.copyManifest(repository, manifest, isTag ? reference : manifest.digest, new Set());
    return true;
  }

  /** Deletes a tag on the target (or, where tags cannot be deleted, the manifest it named there). */
  async deleteTag(repository: string, tag: string, digest: string): Promise<void> {
    const response = await this.target.request("DELETE", repository, `manifests/${tag}`);
    await response.body?.cancel();
    if (response.ok || response.status === 404) return;
    // Distribution deletes manifests only by digest: the tag's, if it still names the one deleted here
    const head = await this.target.request("HEAD", repository, `manifests/${tag}`, { headers: { Accept: ACCEPT } });
    if (head.status === 404) return;
    if (head.headers.get("docker-content-digest") !== digest) return;
    await this.deleteManifest(repository, digest);
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    const response = await this.target.request("DELETE", repository, `manifests/${digest}`);
    if (!response.ok && response.status !== 404) throw await refused(response, `DELETE ${repository}@${digest}`);
    await response.body?.cancel();
  }

  private async copyManifest(repository: string, manifest: { digest: string; mediaType: string; bytes: Uint8Array }, reference: string, seen: Set<string>): Promise<void> {
    if (seen.has(manifest.digest)) return;
    seen.add(manifest.digest);
    const parts = partsOf(manifest.bytes);
    if (parts.subject) await this.copyByDigest(repository, parts.subject, seen);
    for (const child of parts.children) await this.copyByDigest(repository, child, seen);
    for (const blob of parts.blobs) await this.copyBlob(repository, blob);
    const put = await this.target.request("PUT", repository, `manifests/${reference}`, {
      headers: { "Content-Type": manifest.mediaType },
      body: manifest.bytes as Uint8Array<ArrayBuffer>,
    });
    if (put.status !== 201) throw await refused(put, `PUT ${repository}:${reference}`);
    await put.body?.cancel();
  }

  private async copyByDigest(repository: string, digest: string, seen: Set<string>): Promise<void> {
    if (await this.targetHas(repository, digest, digest)) return;
    const manifest = await this.reader.manifest(repository, digest);
    if (manifest === null) throw new TargetError(`${repository}@${digest} is named but not stored here`);
    await this.copyManifest(repository, manifest, digest, seen);
  }

  private async targetHas(repository: string, reference: string, digest: string): Promise<boolean> {
    const head = await this.target.request("HEAD", repository, `manifests/${reference}`, { headers: { Accept: ACCEPT } });
    await head.body?.cancel();
    if (head.status === 404) return false;
    if (!head.ok) throw await refused(head, `HEAD ${repository}:${reference}`);
    return head.headers.get("docker-content-digest") === digest;
  }

  private async copyBlob(repository: string, digest: string): Promise<void> {
    const head = await this.target.request("HEAD", repository, `blobs/${digest}`);
    await head.body?.cancel();
    if (head.ok) {
      this.placed.set(digest, repository);
      return;
    }
    if (head.status !== 404) throw await refused(head, `HEAD ${repository} blob ${digest}`);
    const from = this.placed.get(digest);
    if (from !== undefined && from !== repository) {
      const mount = await this.target.request("POST", repository, `blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from)}`, { from });
      await mount.body?.cancel();
      if (mount.status === 201) return;
    }
    const content = await this.reader.blobContent(repository, digest);
    if (content === null) throw new TargetError(`blob ${digest} of ${repository} is named but not stored here`);
    const start = await this.target.request("POST", repository, "blobs/uploads/");
    if (start.status !== 202) throw await refused(start, `POST ${repository} upload`);
    await start.body?.cancel();
    const location = new URL(start.headers.get("location") ?? "", `${this.targetUrl(repository)}`);
    location.searchParams.set("digest", digest);
    const put = await this.target.request("PUT", repository, "", {
      absolute: location.toString(),
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(content.size) },
      body: content,
    });
    if (put.status !== 201) throw await refused(put, `PUT ${repository} blob ${digest}`);
    await put.body?.cancel();
    this.placed.set(digest, repository);
  }

  private targetUrl(repository: string): string {
    return this.target.base(repository);
  }
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");
