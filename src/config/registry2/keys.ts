/**
 * What Berth does with each key of registry:2's config.yml (and so each REGISTRY_* variable):
 * map it to a Berth key, accept it as having no effect on what is served, or refuse it because
 * Berth cannot honour it. One table: the translator, `berth config convert` and the migration
 * guide's table (docs/migrating-from-registry2.md, checked by a test) all read it.
 */
import { ConfigError } from "../errors.ts";
import { asBoolean, asDuration, asHeaderValues, asString, asStrings, asTree, wrongValue } from "./values.ts";
import { webhookEndpoints } from "./notifications.ts";

export type Put = (berthKey: string, value: unknown) => void;
export type Note = (message: string) => void;

export interface Registry2Key {
  /** dotted registry:2 key; the entry covers everything below it */
  key: string;
  effect: "mapped" | "ignored" | "refused";
  /** the Berth key(s) it sets, for the table */
  berth: string;
  /** how it maps, or why it has no effect or cannot be honoured */
  why: string;
  /** a file path: relative to config.yml in the file, to the working directory in a variable */
  path?: "one" | "list";
  /** sets Berth keys from the value; may refuse a value Berth cannot honour */
  apply?: (value: unknown, put: Put, note: Note) => void;
}

type Apply = NonNullable<Registry2Key["apply"]>;

const mapped = (key: string, berth: string, why: string, apply: Apply, path?: Registry2Key["path"]): Registry2Key => ({
  key,
  effect: "mapped",
  berth,
  why,
  apply,
  ...(path ? { path } : {}),
});
const ignored = (key: string, why: string): Registry2Key => ({ key, effect: "ignored", berth: "", why });
const refused = (key: string, why: string): Registry2Key => ({ key, effect: "refused", berth: "", why });

const LOG_LEVELS: Record<string, "error" | "warn" | "info"> = {
  panic: "error",
  fatal: "error",
  error: "error",
  warn: "warn",
  warning: "warn",
  info: "info",
  debug: "info",
  trace: "info",
};

function logLevel(key: string, value: unknown, put: Put, note: Note): void {
  const level = LOG_LEVELS[asString(key, value).toLowerCase()];
  if (level === undefined) throw wrongValue(key, "error, warn, info or debug", value);
  if (level === "info" && value !== "info") note(`${key}: ${String(value)} logs as info in Berth (its most detailed level)`);
  put("log.level", level);
}

const OBJECT_STORES = ["s3", "gcs", "azure", "swift", "oss"];

export const REGISTRY2_KEYS: Registry2Key[] = [
  ignored("version", "the file format's version"),
  mapped("log.level", "log.level", "debug and trace log as info", (v, put, note) => logLevel("log.level", v, put, note)),
  mapped("loglevel", "log.level", "the old spelling of log.level", (v, put, note) => logLevel("loglevel", v, put, note)),
  mapped("log.formatter", "log.format", "text stays text; json and logstash become json", (v, put) => {
    const format = asString("log.formatter", v);
    if (!["text", "json", "logstash"].includes(format)) throw wrongValue("log.formatter", "text, json or logstash", v);
    put("log.format", format === "text" ? "text" : "json");
  }),
  ignored("log.fields", "Berth's log lines carry no fixed extra fields"),
  ignored("log.hooks", "Berth sends no log mail; use webhooks or the log stream"),
  ignored("log.accesslog", 'Berth logs one line per request at level info (log.level = "warn" silences them)'),
  mapped("storage.filesystem.rootdirectory", "storage.root", "the same tree: Berth serves the data as it is", (v, put) => put("storage.root", asString("storage.filesystem.rootdirectory", v)), "one"),
  ignored("storage.filesystem.maxthreads", "Berth needs no thread limit for filesystem calls"),
  mapped("storage.inmemory", "storage.driver = \"inmemory\"", "images live in the process only and are lost when it stops, as in registry:2", (v, put) => {
    const [name] = Object.keys(asTree("storage.inmemory", v));
    if (name !== undefined) throw new ConfigError(`Unknown registry:2 key "storage.inmemory.${name}" (the inmemory driver takes no parameters)`);
    put("storage.driver", "inmemory");
  }),
  mapped("storage.delete.enabled", "storage.delete", "", (v, put) => put("storage.delete", asBoolean("storage.delete.enabled", v))),
  mapped("storage.maintenance.uploadpurging", "storage.uploads.purge, storage.uploads.purge_after, storage.uploads.purge_interval", "enabled: false or dryrun: true turn purging off; age and interval keep their values", (v, put, note) => {
    const section = asTree("storage.maintenance.uploadpurging", v);
    for (const [name, value] of Object.entries(section)) {
      const key = `storage.maintenance.uploadpurging.${name}`;
      if (name === "enabled") put("storage.uploads.purge", asBoolean(key, value));
      else if (name === "dryrun") {
        if (asBoolean(key, value)) {
          put("storage.uploads.purge", false);
          note(`${key}: true turns purging off (Berth has no dry run)`);
        }
      } else if (name === "age") put("storage.uploads.purge_after", asDuration(key, value));
      else if (name === "interval") put("storage.uploads.purge_interval", asDuration(key, value));
      else throw new ConfigError(`Unknown registry:2 key "${key}"`);
    }
  }),
  mapped("storage.maintenance.readonly", "", "enabled: false is accepted; Berth has no read-only mode yet, so enabled: true stops start-up", (v) => {
    const enabled = asTree("storage.maintenance.readonly", v).enabled;
    if (enabled !== undefined && asBoolean("storage.maintenance.readonly.enabled", enabled)) {
      throw new ConfigError('registry:2 key "storage.maintenance.readonly.enabled" cannot be honoured: Berth has no read-only mode yet; remove it or set it to false');
    }
  }),
  ignored("storage.cache", "Berth keeps its own caches in memory"),
  ignored("storage.redirect", "the filesystem storage never redirects"),
  ignored("storage.tag", "Berth needs no limit on concurrent tag lookups"),
  ...OBJECT_STORES.map((name) => refused(`storage.${name}`, "Berth stores data on a filesystem (storage.filesystem) or in memory (storage.inmemory) only, for now")),
  mapped("http.addr", "http.addr", ":5000 listens on every address, as in registry:2", (v, put) => put("http.addr", asString("http.addr", v))),
  mapped("http.net", "", "tcp is accepted; Berth cannot listen on a unix socket", (v) => {
    if (asString("http.net", v) !== "tcp") throw new ConfigError(`registry:2 key "http.net" cannot be honoured: Berth listens on TCP only; got ${JSON.stringify(v)}`);
  }),
  mapped("http.prefix", "", "/ is accepted; Berth serves at the root path only (put a proxy in front for another prefix)", (v) => {
    const prefix = asString("http.prefix", v);
    if (prefix !== "" && prefix !== "/") throw new ConfigError(`registry:2 key "http.prefix" cannot be honoured: Berth serves at the root path only; got ${JSON.stringify(prefix)}`);
  }),
  mapped("http.host", "http.public_url", "the URL in Location and Link headers", (v, put) => put("http.public_url", asString("http.host", v))),
  ignored("http.secret", "Berth keeps upload state on disk, not in signed state tokens"),
  ignored("http.relativeurls", "without http.host Berth answers with relative Location headers already"),
  ignored("http.draintimeout", "Berth finishes the requests in flight before it stops"),
  ignored("http.debug", "Berth has no debug server"),
  ignored("http.http2", "Berth speaks HTTP/1.1"),
  ignored("http.h2c", "Berth speaks HTTP/1.1"),
  mapped("http.headers", "http.headers", "added to every response", (v, put) => put("http.headers", asHeaderValues("http.headers", v))),
  mapped("http.tls.certificate", "http.tls.certificate", "", (v, put) => put("http.tls.certificate", asString("http.tls.certificate", v)), "one"),
  mapped("http.tls.key", "http.tls.key", "", (v, put) => put("http.tls.key", asString("http.tls.key", v)), "one"),
  mapped("http.tls.clientcas", "http.tls.client_ca", "one CA file (concatenate several into one PEM file)", (v, put) => {
    const files = asStrings("http.tls.clientcas", v);
    if (files.length > 1) throw new ConfigError('registry:2 key "http.tls.clientcas" lists several files; Berth takes one: concatenate them into one PEM file');
    if (files[0] !== undefined) put("http.tls.client_ca", files[0]);
  }, "list"),
  ignored("http.tls.minimumtls", "Berth accepts TLS 1.2 and 1.3"),
  ignored("http.tls.ciphersuites", "Berth uses the TLS library's modern defaults"),
  refused("http.tls.letsencrypt", "Berth does not fetch certificates; get one with certbot and set http.tls.certificate and key"),
  mapped("auth.htpasswd.realm", "auth.realm", "", (v, put) => put("auth.realm", asString("auth.htpasswd.realm", v))),
  mapped("auth.htpasswd.path", "auth.htpasswd, auth.mode = \"basic\"", "Basic authentication as in registry:2; every signed-in user may pull, push and delete", (v, put) => {
    put("auth.htpasswd", asString("auth.htpasswd.path", v));
    put("auth.mode", "basic");
  }, "one"),
  refused("auth.token", "an external token issuer is not supported yet; Berth issues its own tokens (auth.mode = \"token\")"),
  refused("auth.silly", "the silly authenticator is for registry:2's tests"),
  mapped("notifications.endpoints", "webhook.endpoints", "name, url, headers, timeout, backoff, ignoredmediatypes, ignore.mediatypes, ignore.actions; threshold is ignored (Berth retries every failure with backoff); disabled endpoints are left out", (v, put, note) => {
    put("webhook.endpoints", webhookEndpoints(v, note));
  }),
  ignored("notifications.events", "Berth's events always carry what registry:2 sends"),
  refused("redis", "Berth keeps its caches in memory and needs no Redis; remove the section"),
  refused("proxy", "a pull-through cache is not supported yet"),
  refused("middleware", "Berth has no storage or registry middleware"),
  ignored("health", "Berth's /healthz checks storage on every call"),
  ignored("compatibility", "schema 1 manifests stay unsupported: every current client pushes schema 2 or OCI"),
  ignored("validation", "Berth checks every manifest's references as registry:2 does by default"),
  ignored("reporting", "Berth sends no reports to bug trackers"),
  ignored("catalog", "Berth's catalog pages with the client's n"),
];

const BY_KEY = new Map(REGISTRY2_KEYS.map((entry) => [entry.key, entry]));

export function registry2Key(key: string): Registry2Key | undefined {
  return BY_KEY.get(key);
}

/** Whether any entry lies below `prefix` (so the translator should look inside it). */
export function hasKeysBelow(prefix: string): boolean {
  return REGISTRY2_KEYS.some((entry) => entry.key.startsWith(`${prefix}.`));
}

/** registry:2's variable for a key: REGISTRY_ and the path in capitals, dots as underscores. */
export function registry2Variable(key: string): string {
  return `REGISTRY_${key.toUpperCase().replaceAll(".", "_")}`;
}
