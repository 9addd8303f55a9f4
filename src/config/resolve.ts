/**
 * The configuration as the rest of Berth reads it, resolved once when it is loaded: durations
 * in milliseconds, the public URL without a trailing slash, paths absolute (paths.ts made them
 * so), plugin files apart from their options. `berth config check` prints the validated
 * `Config` instead, as the operator wrote it.
 */
import type { Config } from "./schema.ts";
import type { ConfigNote } from "./errors.ts";
import { parseDuration } from "./duration.ts";
import { type LdapSettings, resolveLdap } from "../auth/ldap/settings.ts";

export type StorageDriverName = Config["storage"]["driver"];

export interface ResolvedConfig {
  http: {
    addr: string;
    /** external base URL without a trailing slash, or "" (answers use paths only) */
    publicUrl: string;
    /** absolute paths, or "" when not set */
    tls: { certificate: string; key: string; clientCa: string };
    headers: Config["http"]["headers"];
    cors: { origins: string[] };
  };
  storage: {
    driver: StorageDriverName;
    /** absolute */
    root: string;
    deleteEnabled: boolean;
    /** octal mode of stored files, e.g. "0640" */
    mode: string;
    /** maintenance mode at start (POST /api/v1/maintenance changes it at run time) */
    readOnly: boolean;
    /** [storage.s3] as written (read when driver is "s3") */
    s3: Config["storage"]["s3"];
    /** s3: blob GETs answered with a presigned URL */
    redirect: boolean;
    uploads: { purge: boolean; purgeAfterMs: number; purgeIntervalMs: number };
  };
  /** "" for SQLite beside the storage (or in memory), else a postgres:// URL */
  metadata: { url: string; cacheTtlMs: number };
  /** untaggedMs null keeps untagged manifests */
  gc: { delayMs: number; intervalMs: number; untaggedMs: number | null };
  limits: { maxManifestBytes: number };
  hooks: { timeoutMs: number; onFailure: Config["hooks"]["on_failure"] };
  /** the web UI's mount point, null when [ui] enabled = false */
  ui: { path: string } | null;
  /** operators' plugin files (absolute) and the other keys of their entry, handed over as options */
  plugins: Array<{ path: string; options: Record<string, unknown> }>;
  /** the [webhook] section as written: the webhook plugin checks it */
  webhook: Record<string, unknown>;
  /** [retention], [[immutable]] and [[quota]] as written: the retention plugin checks them */
  retention: Record<string, unknown>;
  immutable: Array<Record<string, unknown>>;
  quota: Array<Record<string, unknown>>;
  /** the [signing] section, its key and root files absolute: the signing plugin checks it */
  signing: Record<string, unknown>;
  /** pull-through upstreams ([[proxy]]), durations in ms */
  proxy: ProxyRule[];
  /** [[replication]] rules as written: the replication plugin checks them */
  replication: Array<Record<string, unknown>>;
  auth: {
    /** absolute path of the users file; "" turns authentication off */
    htpasswd: string;
    mode: Config["auth"]["mode"];
    admins: string[];
    groups: Record<string, string[]>;
    realm: string;
    service: string;
    tokenTtlMs: number;
    throttle: { failures: number; windowMs: number; lockoutMs: number };
    /** null when directory login is off */
    ldap: LdapSettings | null;
    oidcTrust: Config["auth"]["oidc_trust"];
  };
  access: Config["access"];
  /** addr "" for no separate listener; token "" for none */
  metrics: { addr: string; token: string };
  /** path absolute, or "" when there is no audit log */
  audit: { path: string; maxBytes: number; keep: number };
  log: Config["log"];
}

/** One [[proxy]] upstream. */
export interface ProxyRule {
  /** "" = the registry-mirrors fallback */
  prefix: string;
  /** without a trailing slash */
  url: string;
  username: string;
  password: string;
  ttlMs: number;
  timeoutMs: number;
}

/** The resolved form of a validated configuration (its durations already match the schema's pattern). */
export function resolveConfig(config: Config): ResolvedConfig {
  const { http, storage, hooks, auth } = config;
  return {
    http: {
      addr: http.addr,
      publicUrl: normalisePublicUrl(http.public_url),
      tls: { certificate: http.tls.certificate, key: http.tls.key, clientCa: http.tls.client_ca },
      headers: http.headers,
      cors: { origins: http.cors.origins },
    },
    storage: {
      driver: storage.driver,
      root: storage.root,
      deleteEnabled: storage.delete,
      mode: storage.mode,
      readOnly: storage.read_only,
      s3: storage.s3,
      redirect: storage.redirect,
      uploads: {
        purge: storage.uploads.purge,
        purgeAfterMs: parseDuration(storage.uploads.purge_after),
        purgeIntervalMs: parseDuration(storage.uploads.purge_interval),
      },
    },
    metadata: { url: config.metadata.url, cacheTtlMs: parseDuration(config.metadata.cache_ttl) },
    gc: {
      delayMs: parseDuration(config.gc.delay),
      intervalMs: parseDuration(config.gc.interval),
      untaggedMs: config.gc.untagged === "" ? null : parseDuration(config.gc.untagged),
    },
    limits: { maxManifestBytes: config.limits.max_manifest_bytes },
    hooks: { timeoutMs: parseDuration(hooks.timeout), onFailure: hooks.on_failure },
    ui: config.ui.enabled ? { path: config.ui.path } : null,
    plugins: config.plugins.map(({ path, ...options }) => ({ path, options })),
    webhook: config.webhook,
    retention: config.retention,
    immutable: config.immutable,
    quota: config.quota,
    signing: config.signing,
    proxy: config.proxy.map((rule) => ({
      prefix: rule.prefix,
      url: rule.url.replace(/\/+$/, ""),
      username: rule.username,
      password: rule.password,
      ttlMs: parseDuration(rule.ttl),
      timeoutMs: parseDuration(rule.timeout),
    })),
    replication: config.replication,
    auth: {
      htpasswd: auth.htpasswd,
      mode: auth.mode,
      admins: auth.admins,
      groups: auth.groups,
      realm: auth.realm,
      service: auth.service,
      tokenTtlMs: parseDuration(auth.token_ttl),
      throttle: {
        failures: auth.throttle.failures,
        windowMs: parseDuration(auth.throttle.window),
        lockoutMs: parseDuration(auth.throttle.lockout),
      },
      ldap: resolveLdap(auth.ldap),
      oidcTrust: auth.oidc_trust,
    },
    access: config.access,
    metrics: { addr: config.metrics.addr, token: config.metrics.token },
    audit: { path: config.audit.path, maxBytes: config.audit.max_bytes, keep: config.audit.keep },
    log: config.log,
  };
}

/** "https://r.example.com/" and "https://r.example.com" name the same base: keep one spelling. */
function normalisePublicUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

/** What start-up says about the storage driver: a warning when images will not outlive the process. */
export function storageDriverNotes(driver: StorageDriverName): ConfigNote[] {
  if (driver !== "inmemory") return [];
  return [{ level: "warn", message: 'storage.driver = "inmemory": images live in this process only and are lost when it stops (for tests and trying Berth out)' }];
}
