/**
 * The hook API: everything a plugin may see or do. Built-in plugins use only this, exactly
 * as an operator's own plugin does.
 */
import type { Logger } from "../log.ts";

/** Asked before the registry acts; a hook may deny by throwing (or returning) a denial. */
export type BeforeHookName =
  | "manifest.put"
  | "manifest.get"
  | "manifest.delete"
  | "tag.delete"
  | "blob.get"
  | "blob.delete"
  | "blob.mount";

/** Emitted after the change is durable; never blocks the response. */
export type EventAction = "push" | "pull" | "delete" | "mount";

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
}

/** What plugins may change: through the same rules, hooks and events as a client's request. */
export interface RegistryWriter {
  deleteTag(repository: string, tag: string): Promise<void>;
  deleteManifest(repository: string, digest: string): Promise<void>;
}

export type RouteHandler = (request: Request, params: { url: URL }) => Response | Promise<Response>;

export interface PluginContext {
  /** throw from a before-hook to refuse the request with 403 DENIED and this message */
  deny(message: string): never;
  before(hook: BeforeHookName, fn: BeforeHook, options?: BeforeHookOptions): void;
  on(action: EventAction | "*", fn: EventListener, options?: ListenerOptions): void;
  /** runs `fn` every `intervalMs` (not overlapping itself) until the registry stops */
  every(intervalMs: number, fn: () => void | Promise<void>): void;
  /** serves `GET|POST|DELETE /api/<path>` (admin-only once auth is on) */
  route(method: "GET" | "POST" | "DELETE", path: string, handler: RouteHandler): void;
  registry: RegistryReader & RegistryWriter;
  /** this plugin's options from registry.toml */
  options: Record<string, unknown>;
  /** a directory for this plugin's durable state: <storage root>/berth/plugins/<name> */
  dataDir: string;
  log: Logger;
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
