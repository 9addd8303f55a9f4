/**
 * Blobs pulled through: fetched from the upstream once per repository and digest however many
 * clients ask at the same time (single flight), verified while they stream, stored through the
 * facade's upload path (hashed again there, linked and indexed as a push would be). The first
 * asker receives the bytes as they arrive; the others wait and are served from storage.
 */
import type { RequestInfo } from "../hooks/types.ts";
import type { Logger } from "../log.ts";
import { type Digest, formatDigest } from "../oci/digest.ts";
import { RegistryError } from "../oci/errors.ts";
import type { Registry } from "../registry/registry.ts";
import type { ProxyCounters } from "./counters.ts";
import type { ProxyRoute } from "./route.ts";
import { UpstreamUnavailable } from "./upstream.ts";
import { verifyingStream } from "./verify.ts";

export interface PulledBlob {
  body: ReadableStream<Uint8Array>;
  /** the upstream's Content-Length, when it sent one */
  size: string | null;
}

export class BlobPuller {
  private readonly flights = new Map<string, Promise<void>>();

  constructor(
    private readonly registry: Registry,
    private readonly request: RequestInfo,
    private readonly counters: ProxyCounters,
    private readonly log: Logger,
  ) {}

  /**
   * The blob's bytes from the upstream while they are stored, or null when another pull of it
   * finished meanwhile (the caller serves it from storage).
   * @throws UpstreamUnavailable, RegistryError BLOB_UNKNOWN (the upstream has no such blob)
   */
  async pull(route: ProxyRoute, repository: string, digest: Digest): Promise<PulledBlob | null> {
    const key = `${repository}@${formatDigest(digest)}`;
    const running = this.flights.get(key);
    if (running) {
      // the bytes come from storage once that pull stored them; its failure is this one's too
      await running.catch((error: unknown) => {
        if (error instanceof RegistryError || error instanceof UpstreamUnavailable) throw error;
        throw new UpstreamUnavailable(route.upstream.url, `fetching ${formatDigest(digest)} failed: ${error instanceof Error ? error.message : String(error)}`);
      });
      return null;
    }
    let deliver: (blob: PulledBlob) => void = () => undefined;
    const delivered = new Promise<PulledBlob>((resolve) => {
      deliver = resolve;
    });
    const flight = this.fetchAndStore(route, repository, digest, deliver);
    this.flights.set(key, flight);
    flight.then(
      () => this.flights.delete(key),
      () => this.flights.delete(key),
    );
    return Promise.race([delivered, flight.then(() => null)]);
  }

  /** Makes sure the repository has the blob (for a manifest being cached); no client waits on the bytes. */
  async ensure(route: ProxyRoute, repository: string, digest: Digest): Promise<void> {
    if (await this.registry.hasBlob(repository, digest)) return;
    const pulled = await this.pull(route, repository, digest);
    await pulled?.body.cancel();
    const running = this.flights.get(`${repository}@${formatDigest(digest)}`);
    if (running) await running;
  }

  private async fetchAndStore(route: ProxyRoute, repository: string, digest: Digest, deliver: (blob: PulledBlob) => void): Promise<void> {
    const started = Date.now();
    const path = `blobs/${formatDigest(digest)}`;
    const response = await route.upstream.request("GET", route.upstreamName, path);
    if (response.status === 404) {
      await response.body?.cancel();
      throw new RegistryError("BLOB_UNKNOWN", { message: `Blob ${formatDigest(digest)} is not known to ${route.upstream.url}`, detail: { digest: formatDigest(digest) } });
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw route.upstream.unavailable(`GET ${path} answered ${response.status}`);
    }
    this.counters.fetched("blob");
    const verified = response.body.pipeThrough(
      verifyingStream(
        digest,
        (error) => {
          this.counters.digestMismatch("blob");
          this.log("warn", "proxy: upstream blob refused, its digest does not match", { upstream: route.upstream.url, repository, error: error.message });
        },
        (bytes) => this.counters.pulledBytes("blob", bytes),
      ),
    );
    const [toClient, toStore] = verified.tee();
    deliver({ body: toClient, size: response.headers.get("content-length") });
    const id = await this.registry.startUpload(repository);
    try {
      await this.registry.completeUpload(repository, id, digest, toStore, this.request);
    } catch (error) {
      await this.registry.cancelUpload(repository, id).catch(() => undefined);
      throw error;
    }
    const bytes = Number(response.headers.get("content-length") ?? -1);
    this.log("info", "proxy: fetched from upstream", { upstream: route.upstream.url, repository, digest: formatDigest(digest), bytes, ms: Date.now() - started });
  }
}
