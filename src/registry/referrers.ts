/**
 * The referrers index (OCI 1.1): for each subject digest, the descriptors of the manifests
 * that name it as `subject`. It lives under `berth/` and is rebuilt from the repository's
 * manifests whenever it is missing, so losing it loses nothing.
 */
import { type Digest, formatDigest, parseDigest } from "../oci/digest.ts";
import type { Descriptor, ParsedManifest } from "../oci/manifest.ts";
import { parseDescriptor, parseManifest } from "../oci/manifest.ts";
import type { StorageDriver } from "../storage/driver.ts";
import { paths } from "../storage/paths.ts";
import { exists, readLink } from "./links.ts";
import { KeyedLock } from "./keyed-lock.ts";

export class ReferrersIndex {
  private readonly builds = new KeyedLock();

  constructor(private readonly driver: StorageDriver) {}

  async add(repository: string, subject: Digest, digest: Digest, size: number, manifest: ParsedManifest): Promise<void> {
    const descriptor: Descriptor = { mediaType: manifest.mediaType, digest: formatDigest(digest), size };
    if (manifest.artifactType !== undefined) descriptor.artifactType = manifest.artifactType;
    if (manifest.annotations !== undefined) descriptor.annotations = manifest.annotations;
    await this.driver.putContent(paths.referrer(repository, subject, digest), JSON.stringify(descriptor), { durable: false }); // synced with the manifest
  }

  async remove(repository: string, subject: Digest, digest: Digest): Promise<void> {
    await this.driver.delete(paths.referrer(repository, subject, digest));
  }

  /**
   * Descriptors of the manifests whose subject is `subject`, sorted by digest. An entry whose
   * manifest is no longer in the repository (deleted by another tool, or a crash between the
   * two deletes) is dropped, and so is one that cannot be read.
   */
  async list(repository: string, subject: Digest): Promise<Descriptor[]> {
    await this.ensureBuilt(repository);
    const base = paths.referrersOf(repository, subject);
    const descriptors: Descriptor[] = [];
    for (const algorithm of await this.driver.list(base)) {
      for (const hex of await this.driver.list(`${base}/${algorithm}`)) {
        const digest = `${algorithm}:${hex}`;
        let referrer: Digest;
        try {
          referrer = parseDigest(digest);
        } catch {
          continue; // not an entry of ours
        }
        if (!(await exists(this.driver, paths.manifestRevisionLink(repository, referrer)))) {
          await this.driver.delete(paths.referrer(repository, subject, referrer));
          continue;
        }
        const descriptor = await this.readEntry(`${base}/${algorithm}/${hex}`);
        if (descriptor) descriptors.push(descriptor);
      }
    }
    return descriptors.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  private async readEntry(path: string): Promise<Descriptor | null> {
    try {
      return parseDescriptor(JSON.parse(new TextDecoder().decode(await this.driver.getContent(path))), "referrer entry");
    } catch {
      return null; // removed meanwhile, or torn: the rebuild or the next push restores it
    }
  }

  /** Scans the repository's manifests once when the index was never built (or was lost). */
  private async ensureBuilt(repository: string): Promise<void> {
    if (await exists(this.driver, paths.referrersBuilt(repository))) return;
    await this.builds.run(repository, async () => {
      if (await exists(this.driver, paths.referrersBuilt(repository))) return;
      const root = paths.manifestRevisionsRoot(repository);
      for (const algorithm of await this.driver.list(root)) {
        for (const hex of await this.driver.list(`${root}/${algorithm}`)) {
          const digest = await readLink(this.driver, `${root}/${algorithm}/${hex}/link`);
          if (digest) await this.indexManifest(repository, digest);
        }
      }
      await this.driver.putContent(paths.referrersBuilt(repository), new Date().toISOString());
    });
  }

  private async indexManifest(repository: string, digest: Digest): Promise<void> {
    try {
      const bytes = await this.driver.getContent(paths.blobData(digest));
      const parsed = parseManifest(bytes, "");
      if (parsed.subject) await this.add(repository, parseDigest(parsed.subject.digest), digest, bytes.byteLength, parsed);
    } catch {
      // a missing or unreadable manifest has no referrer entry to contribute
    }
  }
}
