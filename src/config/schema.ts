/**
 * The configuration schema: every key of registry.toml with its default. This is the one
 * source of truth; `berth config check` prints the effective values.
 */
import { type Static, Type } from "@sinclair/typebox";
import { AccessSchema, AuthSchema, TlsSchema } from "../auth/schema.ts";

const Duration = (defaultValue: string, description: string) =>
  Type.String({ default: defaultValue, pattern: "^\\d+(ms|s|m|h|d)$", description });

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
        root: Type.String({ default: "./data", description: "data directory (Distribution's rootdirectory layout)" }),
        delete: Type.Boolean({ default: true, description: "allow deleting manifests, tags and blobs through the API" }),
        uploads: Type.Object(
          {
            purge_after: Duration("24h", "unfinished uploads older than this are removed"),
            purge_interval: Duration("1h", "how often to look for stale uploads"),
          },
          { default: {}, additionalProperties: false },
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: Type.Object(
      {
        max_manifest_bytes: Type.Integer({ default: 4 * 1024 * 1024, minimum: 1024, description: "largest manifest accepted" }),
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
    auth: AuthSchema,
    access: AccessSchema,
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

/** Milliseconds in a duration such as "90s", "24h" or "7d". */
export function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new RangeError(`Cannot parse duration "${value}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(match[1]) * unit;
}
