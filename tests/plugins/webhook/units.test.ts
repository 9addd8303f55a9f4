/** The webhook plugin's pure parts: config defaults, filters, formats, signatures, backoff. */
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import type { RegistryEvent } from "../../../src/hooks/types.ts";
import { resolveEndpoint, validateWebhookConfig, WebhookConfigError } from "../../../plugins/webhook/config.ts";
import { createFilter } from "../../../plugins/webhook/filter.ts";
import { globToRegExp } from "../../../src/oci/glob.ts";
import { formatPayload, toCloudEvent } from "../../../plugins/webhook/formats.ts";
import { parseRetryAfter, requestHeaders, signature } from "../../../plugins/webhook/sender.ts";
import { givesUp, retryDelay } from "../../../plugins/webhook/worker.ts";

function event(overrides: Partial<RegistryEvent["target"]> = {}, action: RegistryEvent["action"] = "push"): RegistryEvent {
  return {
    id: "5f0c6b5e-8a2c-4f43-9f0e-2d1f7a0f9a11",
    timestamp: "2026-01-02T03:04:05.678Z",
    action,
    target: {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: "sha256:aa",
      size: 10,
      length: 10,
      repository: "team/app",
      url: "https://registry.example.com/v2/team/app/manifests/sha256:aa",
      tag: "v1",
      ...overrides,
    },
    request: { id: "r1", addr: "10.0.0.1", host: "registry.example.com", method: "PUT", useragent: "docker/27" },
    actor: { name: "alice" },
    source: { addr: "host:5000", instanceID: "i-1" },
  };
}

describe("webhook config", () => {
  test("an endpoint with only name and url gets every default", () => {
    const config = validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://ci.local/hook" }] });
    expect(config.keep_delivered).toBe("7d");
    expect(config.endpoints[0]).toEqual({
      name: "ci",
      url: "http://ci.local/hook",
      headers: {},
      secret: "",
      actions: ["push", "pull", "delete", "mount"],
      repositories: ["**"],
      ignored_media_types: [],
      timeout: "10s",
      format: "distribution",
      retry: { backoff: "1s", max_backoff: "5m", max_attempts: 20, max_age: "24h" },
      concurrency: 1,
    });
    const endpoint = config.endpoints[0];
    if (!endpoint) throw new Error("no endpoint");
    expect(resolveEndpoint(endpoint).retry).toEqual({ backoffMs: 1000, maxBackoffMs: 300_000, maxAttempts: 20, maxAgeMs: 86_400_000 });
  });

  test("wrong keys and values name the key", () => {
    expect(() => validateWebhookConfig({ endpoints: [{ name: "ci", url: "ftp://x" }] })).toThrow("webhook.endpoints[0].url");
    expect(() => validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://x", colour: "red" }] })).toThrow("webhook.endpoints[0].colour");
    expect(() => validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://x", concurrency: 0 }] })).toThrow("concurrency");
    expect(() =>
      validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://x" }, { name: "ci", url: "http://y" }] }),
    ).toThrow('"ci" is used twice');
  });

  test("errors are the plugin's own, worded as the operator sees them", () => {
    const refusal = (raw: unknown) => {
      try {
        validateWebhookConfig(raw);
      } catch (error) {
        return error;
      }
      throw new Error("the section was accepted");
    };
    const unknown = refusal({ endpoints: [{ name: "ci", url: "http://x", colour: "red" }] });
    expect(unknown).toBeInstanceOf(WebhookConfigError);
    expect(unknown).toHaveProperty("message", 'Unknown config key "webhook.endpoints[0].colour"');
    expect(refusal({ keep_dead: "forever" })).toHaveProperty(
      "message",
      'Invalid config key "webhook.keep_dead": Expected string to match \'^\\d+(ms|s|m|h|d)$\' (dead rows (given up on) older than this are pruned); got "forever"',
    );
    expect(refusal({ endpoints: [{ name: "ci", url: "http://x:99999" }] })).toHaveProperty("message", 'Invalid config key "webhook.endpoints[0].url": cannot parse "http://x:99999"');
  });
});

describe("webhook retry floor", () => {
  test("a zero backoff is refused: with Retry-After: 0 a failing event would be resent in a tight loop", () => {
    expect(() => validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://127.0.0.1:1/", retry: { backoff: "0s" } }] })).toThrow(
      'webhook.endpoints[0].retry.backoff',
    );
    expect(validateWebhookConfig({ endpoints: [{ name: "ci", url: "http://127.0.0.1:1/", retry: { backoff: "100ms" } }] }).endpoints).toHaveLength(1);
  });
});

describe("webhook filters", () => {
  test("* stays within a path component, ** crosses them", () => {
    expect(globToRegExp("team/*").test("team/app")).toBe(true);
    expect(globToRegExp("team/*").test("team/a/b")).toBe(false);
    expect(globToRegExp("team/**").test("team/a/b")).toBe(true);
    // one dialect with [[access]]: team/** is what is below team/, not team itself
    expect(globToRegExp("team/**").test("team")).toBe(false);
    expect(globToRegExp("team/**").test("teamster/x")).toBe(false);
    expect(globToRegExp("**/app").test("a/b/app")).toBe(true);
    expect(globToRegExp("app.v?").test("app.v1")).toBe(true);
    expect(globToRegExp("app.v1").test("appxv1")).toBe(false);
  });

  test("actions, repositories and ignored media types all apply", () => {
    const wants = createFilter({ actions: ["push"], repositories: ["team/*"], ignored_media_types: ["application/octet-stream"] });
    expect(wants(event())).toBe(true);
    expect(wants(event({}, "pull"))).toBe(false);
    expect(wants(event({ repository: "other/app" }))).toBe(false);
    expect(wants(event({ mediaType: "application/octet-stream" }))).toBe(false);
  });
});

describe("webhook formats", () => {
  test("distribution: the events envelope with its media type", () => {
    const payload = formatPayload("distribution", event());
    expect(payload.contentType).toBe("application/vnd.docker.distribution.events.v1+json");
    expect(JSON.parse(payload.body)).toEqual({ events: [event()] });
  });

  test("cloudevents: required and optional attributes of CloudEvents 1.0", () => {
    const payload = formatPayload("cloudevents", event());
    expect(payload.contentType).toBe("application/cloudevents+json");
    expect(JSON.parse(payload.body)).toEqual({
      specversion: "1.0",
      id: event().id,
      source: "https://registry.example.com",
      type: "io.berth.registry.push",
      time: "2026-01-02T03:04:05.678Z",
      datacontenttype: "application/json",
      subject: "team/app:v1",
      data: event(),
    });
    const { tag: _tag, ...untagged } = event().target;
    expect(toCloudEvent({ ...event({}, "delete"), target: untagged }).subject).toBe("team/app@sha256:aa");
    expect(toCloudEvent(event({ url: "not a url" })).source).toBe("urn:berth:i-1");
  });
});

describe("webhook signatures and retries", () => {
  test("the signature is the HMAC-SHA256 of timestamp.body, as openssl computes it", () => {
    const expected = createHmac("sha256", "k").update('1700000000.{"a":1}').digest("hex");
    expect(signature("k", 1_700_000_000, '{"a":1}')).toBe(`sha256=${expected}`);
  });

  test("request headers: ids, attempt, signature only with a secret; configured headers cannot override them", () => {
    const base = { name: "ci", url: "http://x", format: "distribution" as const, timeoutMs: 1000, concurrency: 1 };
    const retry = { backoffMs: 1, maxBackoffMs: 1, maxAttempts: 1, maxAgeMs: 1 };
    const input = { payload: { body: "{}", contentType: "application/json" }, eventId: "e", deliveryId: "d", attempt: 3 };
    const signed = requestHeaders({ ...base, retry, secret: "k", headers: { "X-Berth-Signature": "forged", Authorization: "Bearer t" } }, input, 1_700_000_000_999);
    expect(signed.get("x-berth-timestamp")).toBe("1700000000");
    expect(signed.get("x-berth-signature")).toBe(signature("k", 1_700_000_000, "{}"));
    expect(signed.get("authorization")).toBe("Bearer t");
    expect(signed.get("x-berth-event-id")).toBe("e");
    expect(signed.get("x-berth-delivery")).toBe("d");
    expect(signed.get("x-berth-attempt")).toBe("3");
    const unsigned = requestHeaders({ ...base, retry, secret: "", headers: {} }, input);
    expect(unsigned.get("x-berth-signature")).toBeNull();
    expect(unsigned.get("x-berth-timestamp")).toBeNull();
  });

  test("backoff doubles from `backoff` up to `max_backoff`, with half of it jittered", () => {
    const policy = { backoffMs: 1000, maxBackoffMs: 60_000 };
    expect(retryDelay(policy, 1, () => 0)).toBe(500);
    expect(retryDelay(policy, 1, () => 1)).toBe(1000);
    expect(retryDelay(policy, 4, () => 1)).toBe(8000);
    expect(retryDelay(policy, 30, () => 1)).toBe(60_000);
    expect(retryDelay(policy, 30, () => 0)).toBe(30_000);
    expect(retryDelay(policy, 10_000, () => 0.5)).toBe(45_000);
  });

  test("the policy gives up after max_attempts or max_age; 0 attempts means no limit", () => {
    const policy = { backoffMs: 1, maxBackoffMs: 1, maxAttempts: 3, maxAgeMs: 1000 };
    expect(givesUp(policy, 2, 0, 10)).toBe(false);
    expect(givesUp(policy, 3, 0, 10)).toBe(true);
    expect(givesUp(policy, 1, 0, 1000)).toBe(true);
    expect(givesUp({ ...policy, maxAttempts: 0 }, 1_000, 0, 999)).toBe(false);
  });

  test("Retry-After in seconds or as a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
