/**
 * The configuration schema: every key of registry.toml with its default. This is the one
 * source of truth; `berth config check` prints the effective values.
 */
import { type Static, Type } from "@sinclair/typebox";
import { AccessSchema, AuthSchema, TlsSchema } from "../auth/schema.ts";
import { Duration } from "./duration.ts";
import { S3Schema } from "./storage-s3.ts";

export const ConfigSchema = Type.Object(
  {
    http: Type.Object(
      {
        addr: Type.String({ default: "0.0.0.0:5000", description: "host:port to listen on" }),
        public_url: Type.String({
          default: "",
          description: "external URL behind a proxy (e.g. https://registry.example.com), used in Location and Link headers",
        }),
        tls: TlsSchema,
        headers: Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]), {
          default: {},
          description: "headers added to every response: name -> value or list of values (registry:2's http.headers); replaces Berth's own value of that name",
        }),
        cors: Type.Object(
          {
            origins: Type.Array(Type.String(), {
              default: [],
              description: 'origins whose pages may call the API from a browser (exact, e.g. "https://ui.example.com", or "*"); empty turns CORS off',
            }),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    storage: Type.Object(
      {
        driver: Type.Union([Type.Literal("filesystem"), Type.Literal("inmemory"), Type.Literal("s3")], {
          default: "filesystem",
          description:
            "filesystem (under storage.root), s3 (an S3 bucket: [storage.s3]; storage.root then holds local state only) or inmemory (in this process only, lost when it stops: for tests and trying Berth out)",
        }),
        root: Type.String({
          default: "./data",
          description: "data directory (Distribution's rootdirectory layout); with s3, the local state directory (lock, admin socket, SQLite index, plugins' data)",
        }),
        s3: S3Schema,
        redirect: Type.Boolean({
          default: false,
          description: "s3: answer blob GETs with a 307 to a presigned URL (clients fetch from the bucket); false streams through Berth",
        }),
        delete: Type.Boolean({ default: true, description: "allow deleting manifests, tags and blobs through the API" }),
        mode: Type.String({
          default: "0640",
          pattern: "^0?6[0246][0246]$",
          description:
            'octal mode of stored files, e.g. "0640": the owner reads and writes, nobody executes; directories get x where r is set',
        }),
        read_only: Type.Boolean({
          default: false,
          description: "maintenance mode: pushes, deletes and GC answer 503 UNSUPPORTED, pulls continue (an admin toggles it at run time with POST /api/v1/maintenance)",
        }),
        uploads: Type.Object(
          {
            purge: Type.Boolean({ default: true, description: "remove unfinished uploads; false keeps them until removed by hand" }),
            purge_after: Duration("24h", "unfinished uploads older than this are removed"),
            purge_interval: Duration("1h", "how often to look for stale uploads"),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    metadata: Type.Object(
      {
        url: Type.String({
          default: "",
          description:
            'where the metadata index lives: "" for SQLite at <storage.root>/berth/metadata.db (in memory with storage.driver = "inmemory"), "sqlite:/absolute/path.db" elsewhere, or "postgres://user:password@host/db" for PostgreSQL',
          pattern: "^(|sqlite:/.+|postgres(ql)?://.+)$",
        }),
        cache_ttl: Duration("1s", "with PostgreSQL (replicas): how long a replica may answer from what it cached about tags and the catalog before it reads them again, so the longest a tag changed through another replica goes unseen here"),
      },
      { default: {}, additionalProperties: false },
    ),
    gc: Type.Object(
      {
        delay: Duration("24h", "a blob that lost its last reference (or was uploaded and never referenced) is deleted no sooner than this after it was last touched"),
        interval: Duration("1h", "how often garbage collection runs by itself"),
        untagged: Type.String({
          default: "",
          pattern: "^(|\\d+(ms|s|m|h|d))$",
          description: 'delete manifests that have had no tag and no pull for this long (e.g. "7d"); "" keeps untagged manifests',
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: Type.Object(
      {
        max_manifest_bytes: Type.Integer({ default: 4 * 1024 * 1024, minimum: 1024, description: "largest manifest accepted" }),
      },
      { default: {}, additionalProperties: false },
    ),
    ui: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: "serve the web UI" }),
        path: Type.String({ default: "/", pattern: "^/([A-Za-z0-9._~-]+/?)*$", description: 'where the web UI is mounted, e.g. "/" or "/ui"' }),
      },
      { default: {}, additionalProperties: false },
    ),
    hooks: Type.Object(
      {
        timeout: Duration("5s", "longest wait for one before-hook"),
        on_failure: Type.Union([Type.Literal("deny"), Type.Literal("allow")], {
          default: "deny",
          description: "what a before-hook that fails or times out means: deny or allow",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    plugins: Type.Array(
      Type.Object(
        { path: Type.String({ minLength: 1, description: "a TypeScript plugin file, relative to the config file" }) },
        { additionalProperties: true, description: "other keys are handed to the plugin as its options" },
      ),
      { default: [] },
    ),
    webhook: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: "webhook notifications (checked by the webhook plugin)",
    }),
    retention: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: "retention policies and the undo window (checked by the retention plugin)",
    }),
    immutable: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      default: [],
      description: "tag immutability rules (checked by the retention plugin)",
    }),
    quota: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      default: [],
      description: "storage quotas (checked by the retention plugin)",
    }),
    signing: Type.Record(Type.String(), Type.Unknown(), {
      default: {},
      description: "signature trust policies (checked by the signing plugin)",
    }),
    proxy: Type.Array(
      Type.Object(
        {
          prefix: Type.String({
            pattern: "^([a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*)?$",
            description: 'pulls of <prefix>/<name> come from the upstream; "" = docker\'s registry-mirrors mode (names no local repository has)',
          }),
          url: Type.String({ pattern: "^https?://[^/?#]+/?$", description: "the upstream registry, e.g. https://registry-1.docker.io" }),
          username: Type.String({ default: "", description: "upstream user (basic or token flow); empty = anonymous" }),
          password: Type.String({ default: "", description: "upstream password (redacted everywhere)" }),
          ttl: Duration("1h", "how long a tag is trusted without asking the upstream"),
          timeout: Duration("30s", "longest wait for the upstream's answer before serving what is cached"),
        },
        { additionalProperties: false },
      ),
      { default: [], description: "pull-through caches of other registries (src/proxy)" },
    ),
    replication: Type.Array(Type.Record(Type.String(), Type.Unknown()), {
      default: [],
      description: "copies to other registries (checked by the replication plugin)",
    }),
    auth: AuthSchema,
    access: AccessSchema,
    metrics: Type.Object(
      {
        addr: Type.String({ default: "", description: 'a separate listener for GET /metrics, open to whoever reaches it (e.g. "127.0.0.1:5001"); "" for none' }),
        token: Type.String({
          default: "",
          description: "a bearer token that may read GET /metrics on the main listener (admins may too once [auth] is on); \"\" and no admin: /metrics is off there",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
    audit: Type.Object(
      {
        path: Type.String({ default: "", description: 'the audit log: one JSON line per change or security event; "" for none' }),
        max_bytes: Type.Integer({ default: 100 * 1024 * 1024, minimum: 4096, description: "the audit file is rotated (to .1, .2, ...) once it is this big" }),
        keep: Type.Integer({ default: 5, minimum: 0, maximum: 1000, description: "rotated audit files kept" }),
      },
      { default: {}, additionalProperties: false },
    ),
    log: Type.Object(
      {
        format: Type.Union([Type.Literal("text"), Type.Literal("json")], { default: "text", description: "text or json" }),
        level: Type.Union([Type.Literal("error"), Type.Literal("warn"), Type.Literal("info")], {
          default: "info",
          description: "error, warn or info (info logs one line per request)",
        }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
