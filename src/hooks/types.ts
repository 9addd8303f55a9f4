/**
 * The hook API: everything a plugin may see or do. Built-in plugins use only this, exactly
 * as an operator's own plugin does.
 */
import type { SQL } from "bun";
import type { Logger } from "../log.ts";
import type { ManifestDetails, ManifestSummary, RepositoryFacts, TagFacts, UsageFacts } from "./facts.ts";

export type { ManifestSummary, Platform, RepositoryFacts, TagFacts, BlobEntry, ChildManifest, Referrer, ManifestDetails, UsageEntry, UsageFacts } from "./facts.ts";

/** Asked before the registry acts; a hook may deny by throwing (or returning) a denial. */
export type BeforeHookName =
  | "manifest.put"
  | "manifest.get"
  | "manifest.delete"
  | "tag.delete"
  | "blob.get"
  | "blob.delete"
  | "blob.mount"
  /** an upload's bytes are verified and about to become the blob (`size` set); a denial discards the upload */
  | "blob.put";

/**
 * Emitted after the change is durable; never blocks the response. `expiring`: a robot account
 * expires within 7 days (once a day; actor is `robot$NAME`, target.url its admin API path).
 */
export type EventAction = "push" | "pull" | "delete" | "mount" | "expiring";

/** Who asked and from where; filled by the HTTP layer. */
export interface RequestInfo {
  id: string;
  addr: string;
  host: string;
  method: string;
  useragent: string;
  /** authenticated user name, "" when anonymous */
  actor: string;
}

export interface BeforeHookContext {
  hook: BeforeHookName;
  repository: string;
  /** tag when the request named one */
  tag?: string;
  digest?: string;
  mediaType?: string;
  /** manifest.put: the manifest as received */
  manifest?: { bytes: Uint8Array; json: unknown };
  /** blob.put and blob.mount: the blob's size */
  size?: number;
  request: RequestInfo;
}

/** A denial: answered as 403 DENIED with this message; nothing is stored or served. */
export class HookDenial extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HookDenial";
  }
}

export type BeforeHook = (context: BeforeHookContext) => void | Promise<void>;

export interface BeforeHookOptions {
  /** longest wait for this hook (ms); default from [hooks] timeout */
  timeoutMs?: number;
  /** what a hook that throws (other than a denial) or times out means; default from [hooks] on_failure */
  onFailure?: "deny" | "allow";
}

/** Distribution's notification event, so existing receivers work unchanged. */
export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: EventAction;
  target: {
    mediaType: string;
    digest: string;
    size: number;
    length: number;
    repository: string;
    url: string;
    tag?: string;
    /** mount: the repository the blob came from */
    fromRepository?: string;
  };
  request: Omit<RequestInfo, "actor">;
  actor: { name: string };
  source: { addr: string; instanceID: string };
}

export type EventListener = (event: RegistryEvent) => void | Promise<void>;

export interface ListenerOptions {
  /**
   * Answer the request only after this listener finished (or the [hooks] timeout passed).
   * For recording the event durably (an outbox such as the webhook queue), never for slow
   * work: it delays the response. A failure is logged; the request still succeeds, as the
   * change is already made.
   */
  durable?: boolean;
}

/** What plugins may read (retention, UIs); no raw storage access, no hooks asked, no events. */
export interface RegistryReader {
  repositories(): Promise<string[]>;
  tags(repository: string): Promise<string[]>;
  manifest(repository: string, reference: string): Promise<{ digest: string; mediaType: string; bytes: Uint8Array } | null>;
  /** a blob linked into the repository, when it has at most `maxBytes` bytes; null otherwise (or when absent) */
  blob(repository: string, digest: string, maxBytes: number): Promise<Uint8Array | null>;
  /** a blob linked into the repository as a Blob (size known, read as a stream: for big blobs); null when absent */
  blobContent(repository: string, digest: string): Promise<Blob | null>;
  /** counts, size and dates of a repository (GET /api/v1/repositories); null when there is none */
  repositoryFacts(repository: string): Promise<RepositoryFacts | null>;
  /** every tag with its manifest's facts, in the spec's tag order; null when there is no such repository */
  tagFacts(repository: string): Promise<TagFacts[] | null>;
  /** a manifest's layers, config, children, referrers and dates; null when the repository or manifest is unknown */
  manifestFacts(repository: string, digest: string): Promise<ManifestDetails | null>;
  /** bytes stored, per repository and per namespace, unique and shared */
  usage(): Promise<UsageFacts>;
  /** every manifest of a repository, tagged or not; null when there is no such repository */
  manifests(repository: string): Promise<ManifestSummary[] | null>;
  /** bytes of the distinct blobs linked into or referenced by these repositories (each digest once) */
  storedBytes(repositories: readonly string[]): Promise<number>;
  /** bytes GC would free once these manifests are gone: blobs no other manifest references */
  freedBytes(manifests: ReadonlyArray<{ repository: string; digest: string }>): Promise<number>;
}

/** What plugins may change: through the same rules, hooks and events as a client's request. */
export interface RegistryWriter {
  /**
   * `ifDigest`: delete only while the tag still points at this digest (checked under the tag's
   * lock; a tag pushed meanwhile is left alone: MANIFEST_UNKNOWN)
   */
  deleteTag(repository: string, tag: string, options?: { ifDigest?: string }): Promise<void>;
  deleteManifest(repository: string, digest: string): Promise<void>;
  /** points `tag` at a stored manifest, as a push of its bytes by tag would (hooks and a push event) */
  tagManifest(repository: string, tag: string, digest: string): Promise<void>;
}

/** `path`: the values of a template's placeholders (`{name}`, `{tag}`…); empty for other routes */
/** `actor`: who called, as the access log names them ("" when auth is off; the operator's name on the admin socket). */
export type RouteHandler = (request: Request, params: { url: URL; path: Record<string, string>; actor?: string }) => Response | Promise<Response>;

import type { AuditFields, MetricsApi } from "./metrics.ts";

export type { AuditFields, Counter, Gauge, Histogram, LabelValues, MetricsApi } from "./metrics.ts";

/** Berth as one of several replicas (PostgreSQL metadata shared by all), or a process alone. */
export interface ClusterApi {
  /** this process's name among the replicas */
  replica: string;
  /**
   * the PostgreSQL database every replica shares, for state all of them must see (a queue they
   * drain together: claim rows with `FOR UPDATE SKIP LOCKED`); null when Berth runs as one
   * process (keep such state in `dataDir`). Name your tables after your plugin.
   */
  database: SQL | null;
  /**
   * runs `work` unless a run of the same name is in progress in this process or, with
   * replicas, on another one (a lease renewed while `work` runs, taken over when its holder dies)
   */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false; holder: string }>;
}

export interface PluginContext {
  /** throw from a before-hook to refuse the request with 403 DENIED and this message */
  deny(message: string): never;
  before(hook: BeforeHookName, fn: BeforeHook, options?: BeforeHookOptions): void;
  on(action: EventAction | "*", fn: EventListener, options?: ListenerOptions): void;
  /** runs `fn` every `intervalMs` (not overlapping itself) until the registry stops */
  every(intervalMs: number, fn: () => void | Promise<void>): void;
  /**
   * serves `GET|POST|DELETE /api/<path>` (admin-only once auth is on); a trailing `/*` matches
   * the rest, `{name}` a repository name and `{param}` one segment (`params.path`)
   */
  route(method: "GET" | "POST" | "DELETE", path: string, handler: RouteHandler): void;
  registry: RegistryReader & RegistryWriter;
  /** this plugin's options from registry.toml */
  options: Record<string, unknown>;
  /** a directory for this plugin's durable state: <storage root>/berth/plugins/<name> */
  dataDir: string;
  log: Logger;
  /** the registry's Prometheus series (GET /metrics) */
  metrics: MetricsApi;
  /** one line in the audit log, e.g. `ctx.audit("retention.run", { deleted: 3 })` */
  audit(action: string, fields?: AuditFields): void;
  /** the replicas this process is one of (shared state, leases) */
  cluster: ClusterApi;
}

export interface RegistryPlugin {
  name: string;
  setup(ctx: PluginContext): void | Promise<void>;
  /** takes new options on SIGHUP without a restart; a plugin without it keeps its options until one */
  reload?(options: Record<string, unknown>): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** The logger a plugin gets as `ctx.log`, for the parts of a plugin it hands it to. */
export type { Logger, LogLevel } from "../log.ts";
