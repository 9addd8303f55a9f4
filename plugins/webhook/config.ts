/** The [webhook] section of registry.toml: endpoints, filters, format and retry policy. */
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { checkConfig, Duration, invalidConfigKey } from "../../src/util/config-schema.ts";
import { parseDuration } from "../../src/util/duration.ts";

/** The [webhook] section cannot be used; the message names the key, as the host shows it to the operator. */
export class WebhookConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebhookConfigError";
  }
}

export const RetrySchema = Type.Object(
  {
    backoff: Duration("1s", "first retry delay; doubles each attempt, with jitter"),
    max_backoff: Duration("5m", "longest delay between attempts"),
    max_attempts: Type.Integer({ default: 20, minimum: 0, description: "attempts before dead-lettering; 0 = no limit" }),
    max_age: Duration("24h", "dead-letter an event still undelivered after this long"),
  },
  { default: {}, additionalProperties: false },
);

export const EndpointSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: "^[A-Za-z0-9._-]+$", description: "unique endpoint name" }),
    url: Type.String({ pattern: "^https?://", description: "http(s) URL that receives POSTs" }),
    headers: Type.Record(Type.String(), Type.String(), { default: {}, description: "extra request headers" }),
    secret: Type.String({ default: "", description: "HMAC-SHA256 key for X-Berth-Signature; empty = unsigned" }),
    actions: Type.Array(Type.Union([Type.Literal("push"), Type.Literal("pull"), Type.Literal("delete"), Type.Literal("mount"), Type.Literal("expiring")]), {
      default: ["push", "pull", "delete", "mount"],
      description: "which actions to send (expiring: a robot account expires within 7 days; not sent unless listed)",
    }),
    repositories: Type.Array(Type.String(), { default: ["**"], description: "repository globs (* within a component, ** across)" }),
    ignored_media_types: Type.Array(Type.String(), { default: [], description: "target media types not to send" }),
    timeout: Duration("10s", "per-request timeout"),
    format: Type.Union([Type.Literal("distribution"), Type.Literal("cloudevents")], {
      default: "distribution",
      description: "distribution (events envelope) or cloudevents (structured JSON)",
    }),
    retry: RetrySchema,
    concurrency: Type.Integer({
      default: 1,
      minimum: 1,
      maximum: 64,
      description: "requests in flight to this endpoint; 1 keeps events in order",
    }),
  },
  { additionalProperties: false },
);

export const WebhookSchema = Type.Object(
  {
    endpoints: Type.Array(EndpointSchema, { default: [] }),
    keep_delivered: Duration("7d", "delivered rows older than this are pruned"),
    keep_dead: Duration("30d", "dead rows (given up on) older than this are pruned"),
  },
  { default: {}, additionalProperties: false },
);

export type WebhookConfig = Static<typeof WebhookSchema>;
export type EndpointConfig = Static<typeof EndpointSchema>;

/** A key of the section as registry.toml spells it: webhook.endpoints[0].url. */
function webhookKey(path: string[]): string {
  return `webhook${path.map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join("")}`;
}

/** Applies defaults and checks the section. @throws WebhookConfigError naming the key */
export function validateWebhookConfig(raw: unknown): WebhookConfig {
  const checked = checkConfig(WebhookSchema, Value.Default(WebhookSchema, structuredClone(raw ?? {})), { key: webhookKey });
  if (!checked.ok) throw new WebhookConfigError(checked.problem);
  const { value } = checked;
  const invalid = (i: number, key: string, problem: string) => new WebhookConfigError(invalidConfigKey(`webhook.endpoints[${i}].${key}`, problem));
  for (const [i, endpoint] of value.endpoints.entries()) {
    // a zero backoff (or Retry-After: 0) would resend a failing event in a tight loop
    if (parseDuration(endpoint.retry.backoff) < 10) throw invalid(i, "retry.backoff", `at least 10ms; got "${endpoint.retry.backoff}"`);
  }
  const names = new Set<string>();
  for (const [i, endpoint] of value.endpoints.entries()) {
    if (names.has(endpoint.name)) throw invalid(i, "name", `"${endpoint.name}" is used twice`);
    names.add(endpoint.name);
    if (!URL.canParse(endpoint.url)) throw invalid(i, "url", `cannot parse "${endpoint.url}"`);
  }
  return value;
}

/** An endpoint with its durations in milliseconds, as the worker uses it. */
export interface Endpoint {
  name: string;
  url: string;
  headers: Record<string, string>;
  secret: string;
  format: EndpointConfig["format"];
  timeoutMs: number;
  concurrency: number;
  retry: RetryPolicy;
}

export interface RetryPolicy {
  backoffMs: number;
  maxBackoffMs: number;
  /** 0 = no limit */
  maxAttempts: number;
  maxAgeMs: number;
}

export function resolveEndpoint(config: EndpointConfig): Endpoint {
  return {
    name: config.name,
    url: config.url,
    headers: config.headers,
    secret: config.secret,
    format: config.format,
    timeoutMs: parseDuration(config.timeout),
    concurrency: config.concurrency,
    retry: {
      backoffMs: parseDuration(config.retry.backoff),
      maxBackoffMs: parseDuration(config.retry.max_backoff),
      maxAttempts: config.retry.max_attempts,
      maxAgeMs: parseDuration(config.retry.max_age),
    },
  };
}

/** How long delivered and dead deliveries are kept, in milliseconds. */
export function resolveRetention(config: Pick<WebhookConfig, "keep_delivered" | "keep_dead">): { keepDeliveredMs: number; keepDeadMs: number } {
  return { keepDeliveredMs: parseDuration(config.keep_delivered), keepDeadMs: parseDuration(config.keep_dead) };
}
