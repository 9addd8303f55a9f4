/**
 * Plugin instances as replicas see them, without a server: each instance gets a context of its
 * own (its replica id, data directory, routes, hooks and timers captured for the test to call)
 * over src/cluster's real Cluster, on a shared PostgreSQL database or, alone, on SQLite in
 * memory. The registry is a small in-memory fake shared by the instances (the storage and
 * index every replica sees).
 */
import { Cluster } from "../../src/cluster/cluster.ts";
import { HookDenial } from "../../src/hooks/types.ts";
import type { BeforeHook, BeforeHookContext, BeforeHookName, EventAction, EventListener, ManifestDetails, ManifestSummary, PluginContext, RegistryEvent, RegistryPlugin, RegistryReader, RegistryWriter, RouteHandler, TagFacts } from "../../src/hooks/types.ts";
import { MetadataDatabase } from "../../src/metadata/database.ts";
import { MetricsRegistry } from "../../src/metrics/registry.ts";
import { isRecord, sha256 } from "../helpers/oci.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
  pushedAt: string;
}

/** Repositories of manifests, tags and blobs in memory, read and changed by every instance. */
export class MemoryRegistry implements RegistryReader, RegistryWriter {
  readonly manifestsOf = new Map<string, Map<string, StoredManifest>>();
  readonly tagsOf = new Map<string, Map<string, { digest: string; pushedAt: string }>>();
  readonly blobs = new Map<string, Uint8Array>();
  /** while set, listing repositories (the start of a retention plan) waits for it */
  pause: Promise<void> | null = null;
  /** resolved when a listing starts waiting on `pause` */
  paused: () => void = () => {};

  putBlob(bytes: Uint8Array): string {
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  putManifest(repository: string, bytes: Uint8Array, mediaType: string, tag?: string, pushedAt = new Date().toISOString()): string {
    const digest = sha256(bytes);
    this.repository(repository).set(digest, { bytes, mediaType, pushedAt });
    if (tag !== undefined) this.tagMap(repository).set(tag, { digest, pushedAt });
    return digest;
  }

  private repository(name: string): Map<string, StoredManifest> {
    let manifests = this.manifestsOf.get(name);
    if (!manifests) this.manifestsOf.set(name, (manifests = new Map()));
    return manifests;
  }

  private tagMap(name: string): Map<string, { digest: string; pushedAt: string }> {
    let tags = this.tagsOf.get(name);
    if (!tags) this.tagsOf.set(name, (tags = new Map()));
    return tags;
  }

  private tagNames(repository: string, digest: string): string[] {
    return [...this.tagMap(repository)].filter(([, tag]) => tag.digest === digest).map(([name]) => name).sort();
  }

  async repositories(): Promise<string[]> {
    if (this.pause) {
      this.paused();
      await this.pause;
    }
    return [...this.manifestsOf.keys()].sort();
  }

  async tags(repository: string): Promise<string[]> {
    return [...this.tagMap(repository).keys()].sort();
  }

  async manifest(repository: string, reference: string): Promise<{ digest: string; mediaType: string; bytes: Uint8Array } | null> {
    const digest = reference.includes(":") ? reference : this.tagMap(repository).get(reference)?.digest;
    const stored = digest === undefined ? undefined : this.manifestsOf.get(repository)?.get(digest);
    return stored && digest !== undefined ? { digest, mediaType: stored.mediaType, bytes: stored.bytes } : null;
  }

  async blob(_repository: string, digest: string, maxBytes: number): Promise<Uint8Array | null> {
    const bytes = this.blobs.get(digest);
    return bytes && bytes.byteLength <= maxBytes ? bytes : null;
  }

  async blobContent(_repository: string, digest: string): Promise<Blob | null> {
    const bytes = this.blobs.get(digest);
    return bytes ? new Blob([new Uint8Array(bytes)]) : null;
  }

  async repositoryFacts(): Promise<null> {
    return null;
  }

  async tagFacts(repository: string): Promise<TagFacts[] | null> {
    const manifests = this.manifestsOf.get(repository);
    if (!manifests) return null;
    return [...this.tagMap(repository)].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, tag]) => {
      const stored = manifests.get(tag.digest);
      return { name, digest: tag.digest, mediaType: stored?.mediaType ?? "", size: stored?.bytes.byteLength ?? 0, platforms: [], pushedAt: tag.pushedAt, pulledAt: null, pullCount: 0 };
    });
  }

  async manifestFacts(repository: string, digest: string): Promise<ManifestDetails | null> {
    const stored = this.manifestsOf.get(repository)?.get(digest);
    if (!stored) return null;
    return {
      repository, digest, mediaType: stored.mediaType, artifactType: null, size: stored.bytes.byteLength, totalSize: stored.bytes.byteLength,
      config: null, layers: [], manifests: [], subject: null, platforms: [], labels: {}, annotations: {}, created: null,
      tags: this.tagNames(repository, digest), referrers: [], indexes: [], pushedAt: stored.pushedAt, pulledAt: null, pullCount: 0,
    };
  }

  async usage(): Promise<never> {
    throw new Error("usage is not part of these tests");
  }

  async manifests(repository: string): Promise<ManifestSummary[] | null> {
    const manifests = this.manifestsOf.get(repository);
    if (!manifests) return null;
    return [...manifests].map(([digest, stored]) => ({
      digest, mediaType: stored.mediaType, artifactType: null, subject: null, size: stored.bytes.byteLength, totalSize: stored.bytes.byteLength,
      tags: this.tagNames(repository, digest), indexes: [], pushedAt: stored.pushedAt, pulledAt: null, pullCount: 0,
    }));
  }

  async storedBytes(): Promise<number> {
    return 0;
  }

  async freedBytes(): Promise<number> {
    return 0;
  }

  async deleteTag(repository: string, tag: string, options: { ifDigest?: string } = {}): Promise<void> {
    const current = this.tagMap(repository).get(tag);
    if (!current || (options.ifDigest !== undefined && current.digest !== options.ifDigest)) throw new Error(`MANIFEST_UNKNOWN ${repository}:${tag}`);
    this.tagMap(repository).delete(tag);
  }

  async deleteManifest(repository: string, digest: string): Promise<void> {
    if (!this.manifestsOf.get(repository)?.delete(digest)) throw new Error(`MANIFEST_UNKNOWN ${repository}@${digest}`);
  }

  async tagManifest(repository: string, tag: string, digest: string): Promise<void> {
    this.tagMap(repository).set(tag, { digest, pushedAt: new Date().toISOString() });
  }
}

/** One plugin instance with what its context captured. */
export interface Instance {
  replica: string;
  cluster: Cluster;
  dataDir: string;
  /** calls a route the plugin registered, as `METHOD /path/template`, with its placeholders' values */
  call(route: string, query?: string, path?: Record<string, string>): Promise<Response>;
  /** asks the plugin's before-hooks of `hook`; rejects with a HookDenial when one denies */
  ask(hook: BeforeHookName, context: Omit<BeforeHookContext, "hook" | "request">, request?: { method?: string; actor?: string }): Promise<void>;
  /** tells the plugin's listeners of an event, as the bus would (awaited) */
  emit(action: EventAction, target: RegistryEvent["target"]): Promise<void>;
  /** the `ctx.every` tasks, to run a tick now */
  ticks: Array<() => void | Promise<void>>;
  close(): Promise<void>;
}

/**
 * Sets `plugin` up as replica `replica`: on the shared PostgreSQL database at `databaseUrl`, or
 * alone (SQLite in memory, `database` null) when it is null.
 */
export async function startInstance(plugin: RegistryPlugin, registry: MemoryRegistry, replica: string, databaseUrl: string | null): Promise<Instance> {
  const dataDir = tempDir(`berth-${plugin.name}-${replica}-`);
  const database = await MetadataDatabase.open({ url: databaseUrl ?? "", root: dataDir, inMemory: databaseUrl === null });
  const cluster = await Cluster.open(database, { replica, log: () => {}, addr: () => "127.0.0.1:0", gcDelayMs: 0 });
  const routes = new Map<string, RouteHandler>();
  const hooks: Array<{ hook: BeforeHookName; fn: BeforeHook }> = [];
  const listeners: Array<{ action: EventAction | "*"; fn: EventListener }> = [];
  const ticks: Array<() => void | Promise<void>> = [];
  const ctx: PluginContext = {
    deny(message: string): never {
      throw new HookDenial(message);
    },
    before: (hook, fn) => void hooks.push({ hook, fn }),
    on: (action, fn) => void listeners.push({ action, fn }),
    every: (_intervalMs, fn) => void ticks.push(fn),
    route: (method, path, handler) => void routes.set(`${method} ${path}`, handler),
    registry,
    options: {},
    dataDir,
    log: () => {},
    metrics: new MetricsRegistry(),
    audit: () => {},
    // as src/plugins-host/start.ts makes it
    cluster: { replica, database: cluster.sql, exclusive: (lease, work) => cluster.exclusive(`plugin:${plugin.name}:${lease}`, work) },
  };
  await plugin.setup(ctx);
  return {
    replica,
    cluster,
    dataDir,
    async call(route, query = "", path = {}) {
      const handler = routes.get(route);
      if (!handler) throw new Error(`no route ${route}`);
      const url = new URL(`http://berth${route.split(" ")[1] ?? ""}${query}`);
      return handler(new Request(url, { method: route.split(" ")[0] ?? "GET" }), { url, path });
    },
    async ask(hook, context, request = {}) {
      const full: BeforeHookContext = { ...context, hook, request: { id: "test", addr: "127.0.0.1", host: "berth", method: request.method ?? "GET", useragent: "test", actor: request.actor ?? "" } };
      for (const entry of hooks) if (entry.hook === hook) await entry.fn(full);
    },
    async emit(action, target) {
      const event: RegistryEvent = {
        id: crypto.randomUUID(), timestamp: new Date().toISOString(), action, target,
        request: { id: "test", addr: "127.0.0.1", host: "berth", method: "PUT", useragent: "test" }, actor: { name: "" }, source: { addr: "127.0.0.1:0", instanceID: replica },
      };
      for (const entry of listeners) if (entry.action === action || entry.action === "*") await entry.fn(event);
    },
    ticks,
    async close() {
      await plugin.close?.();
      await cluster.close();
      await database.close();
      removeDir(dataDir);
    },
  };
}

/** The JSON body of an answer, checked to be an object. */
export async function bodyOf(response: Response): Promise<Record<string, unknown>> {
  const value: unknown = await response.json();
  if (!isRecord(value)) throw new Error(`not a JSON object: ${JSON.stringify(value)}`);
  return value;
}
