/** One signed HTTP POST of one payload, and what came of it. Never throws. */
import { createHmac } from "node:crypto";
import type { Endpoint } from "./config.ts";
import type { Payload } from "./formats.ts";

export const USER_AGENT = "berth-webhook/1";
/** how much of an error response body is kept for the deliveries API */
const ERROR_BODY_CHARS = 200;

export interface SendInput {
  payload: Payload;
  eventId: string;
  deliveryId: string;
  attempt: number;
  /** aborts the request when the plugin stops */
  signal?: AbortSignal;
}

export type SendResult =
  | { ok: true; status: number }
  | {
      ok: false;
      /** undefined when no HTTP answer came (connection refused, timeout, aborted) */
      status?: number;
      error: string;
      /** the receiver's Retry-After, in ms */
      retryAfterMs?: number;
      aborted?: boolean;
    };

/**
 * `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the endpoint's secret.
 * @example signature("s3cret", 1700000000, '{"events":[]}')
 */
export function signature(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

export function requestHeaders(endpoint: Endpoint, input: SendInput, now = Date.now()): Headers {
  const headers = new Headers(endpoint.headers);
  headers.set("Content-Type", input.payload.contentType);
  headers.set("User-Agent", USER_AGENT);
  headers.set("X-Berth-Event-Id", input.eventId);
  headers.set("X-Berth-Delivery", input.deliveryId);
  headers.set("X-Berth-Attempt", String(input.attempt));
  if (endpoint.secret !== "") {
    // signed per attempt, so a receiver that refuses stale timestamps still accepts retries
    const timestamp = Math.floor(now / 1000);
    headers.set("X-Berth-Timestamp", String(timestamp));
    headers.set("X-Berth-Signature", signature(endpoint.secret, timestamp, input.payload.body));
  }
  return headers;
}

/** POSTs the payload; 2xx is success, anything else (redirects included) is a failure. */
export async function send(endpoint: Endpoint, input: SendInput): Promise<SendResult> {
  const timeout = AbortSignal.timeout(endpoint.timeoutMs);
  const signal = input.signal ? AbortSignal.any([timeout, input.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: "POST",
      headers: requestHeaders(endpoint, input),
      body: input.payload.body,
      redirect: "manual",
      signal,
    });
  } catch (error) {
    if (input.signal?.aborted) return { ok: false, error: "aborted: the webhook plugin stopped", aborted: true };
    if (timeout.aborted) return { ok: false, error: `timed out after ${endpoint.timeoutMs} ms` };
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const text = await readSome(response);
  if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
  const result: SendResult = { ok: false, status: response.status, error: `HTTP ${response.status}${text ? `: ${text}` : ""}` };
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  if (retryAfter !== undefined) result.retryAfterMs = retryAfter;
  return result;
}

/** The start of the body (for error messages), reading at most 64 KiB of it. */
async function readSome(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  try {
    for (let i = 0; i < 1024 && bytes < 64 * 1024; i++) {
      const { done, value } = await reader.read();
      if (done) return squeeze(text);
      bytes += value.byteLength;
      if (text.length < ERROR_BODY_CHARS) text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } catch {
    // a body cut short says nothing more about the outcome than the status
  }
  return squeeze(text);
}

function squeeze(text: string): string {
  return text.slice(0, ERROR_BODY_CHARS).replace(/\s+/g, " ").trim();
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
