/**
 * The HTTP series, under Distribution's names (its handlers instrumented with docker/go-metrics
 * in the "registry" namespace, "http" subsystem) so its dashboards work unchanged:
 * registry_http_requests_total{code,handler,method}, registry_http_request_duration_seconds
 * {handler,method}, registry_http_request_size_bytes{handler}, registry_http_response_size_bytes
 * {handler}, registry_http_in_flight_requests{handler}; and Zot's zot_http_requests_total
 * {method,code}. Counting a request allocates nothing: slots per handler, method and status are
 * made on first use and found again through maps keyed by strings the request already has.
 */
import { DEFAULT_BUCKETS, header, histogramLines } from "./registry.ts";

/** Distribution's handler names for /v2/, and Berth's own for the rest. */
export type HandlerName =
  | "base" | "catalog" | "tags" | "manifest" | "blob" | "blob_upload" | "blob_upload_chunk" | "referrers"
  | "healthz" | "metrics" | "api" | "auth" | "ui" | "other";

const SIZE_BUCKETS: readonly number[] = [1024, 16384, 262144, 1048576, 16777216, 268435456, 1073741824];
const METHODS = new Set(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]);

class MethodSlot {
  readonly codes = new Map<number, { count: number }>();
  readonly durations = new Array<number>(DEFAULT_BUCKETS.length).fill(0);
  durationSum = 0;
  count = 0;
}

class SizeHistogram {
  readonly counts = new Array<number>(SIZE_BUCKETS.length).fill(0);
  sum = 0;
  count = 0;
  observe(bytes: number): void {
    const slot = SIZE_BUCKETS.findIndex((bound) => bytes <= bound);
    if (slot >= 0) this.counts[slot] = (this.counts[slot] ?? 0) + 1;
    this.sum += bytes;
    this.count++;
  }
}

/** One handler's counts; `end` is called once per request `begin` counted. */
export class HandlerSlot {
  inFlight = 0;
  readonly methods = new Map<string, MethodSlot>();
  readonly requestSize = new SizeHistogram();
  readonly responseSize = new SizeHistogram();

  constructor(readonly name: HandlerName) {}

  begin(): this {
    this.inFlight++;
    return this;
  }

  /** `seconds` from begin to the answer; `requestBytes` the declared body length (0 when none). */
  end(method: string, status: number, seconds: number, requestBytes: number): void {
    this.inFlight--;
    const key = METHODS.has(method) ? method : "OTHER";
    let slot = this.methods.get(key);
    if (!slot) this.methods.set(key, (slot = new MethodSlot()));
    const code = slot.codes.get(status);
    if (code) code.count++;
    else slot.codes.set(status, { count: 1 });
    const bucket = DEFAULT_BUCKETS.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) slot.durations[bucket] = (slot.durations[bucket] ?? 0) + 1;
    slot.durationSum += seconds;
    slot.count++;
    if (method !== "GET" && method !== "HEAD") this.requestSize.observe(requestBytes);
  }

  /** The response's body size, once known (streamed bodies after they are sent). */
  sent(bytes: number): void {
    this.responseSize.observe(bytes);
  }
}

export class HttpMetrics {
  private readonly slots = new Map<HandlerName, HandlerSlot>();

  /** The slot for a request to `path` answered by `handler` ("v2": told apart by the path). */
  slot(handler: HandlerName | "v2", path: string): HandlerSlot {
    const name = handler === "v2" ? v2HandlerOf(path) : handler;
    let slot = this.slots.get(name);
    if (!slot) this.slots.set(name, (slot = new HandlerSlot(name)));
    return slot;
  }

  /** requests by status over every handler, for /api/v1 and tests */
  write(lines: string[]): void {
    const slots = [...this.slots.values()];
    header(lines, "registry_http_requests_total", "Total number of HTTP requests made.", "counter");
    for (const slot of slots) {
      for (const [method, m] of slot.methods) {
        for (const [code, { count }] of m.codes) lines.push(`registry_http_requests_total{code="${code}",handler="${slot.name}",method="${method.toLowerCase()}"} ${count}`);
      }
    }
    header(lines, "registry_http_request_duration_seconds", "The HTTP request latencies in seconds.", "histogram");
    for (const slot of slots) {
      for (const [method, m] of slot.methods) {
        histogramLines(lines, "registry_http_request_duration_seconds", `{handler="${slot.name}",method="${method.toLowerCase()}"}`, DEFAULT_BUCKETS, m.durations, m.durationSum, m.count);
      }
    }
    header(lines, "registry_http_request_size_bytes", "The HTTP request sizes in bytes.", "histogram");
    for (const slot of slots) {
      const { counts, sum, count } = slot.requestSize;
      histogramLines(lines, "registry_http_request_size_bytes", `{handler="${slot.name}"}`, SIZE_BUCKETS, counts, sum, count);
    }
    header(lines, "registry_http_response_size_bytes", "The HTTP response sizes in bytes.", "histogram");
    for (const slot of slots) {
      const { counts, sum, count } = slot.responseSize;
      histogramLines(lines, "registry_http_response_size_bytes", `{handler="${slot.name}"}`, SIZE_BUCKETS, counts, sum, count);
    }
    header(lines, "registry_http_in_flight_requests", "The in-flight HTTP requests.", "gauge");
    for (const slot of slots) lines.push(`registry_http_in_flight_requests{handler="${slot.name}"} ${slot.inFlight}`);
    // Zot's name for the same count, by method and status only
    const zot = new Map<string, number>();
    for (const slot of slots) {
      for (const [method, m] of slot.methods) {
        for (const [code, { count }] of m.codes) {
          const key = `{method="${method}",code="${code}"}`;
          zot.set(key, (zot.get(key) ?? 0) + count);
        }
      }
    }
    header(lines, "zot_http_requests_total", "Total number of http request (Zot's name).", "counter");
    for (const [labels, count] of zot) lines.push(`zot_http_requests_total${labels} ${count}`);
  }
}

/** Distribution's handler for a /v2/ path, read from its end as the router reads it (no allocation). */
export function v2HandlerOf(path: string): HandlerName {
  if (path === "/v2" || path === "/v2/") return "base";
  if (path === "/v2/_catalog" || path === "/v2/_catalog/") return "catalog";
  if (path.endsWith("/tags/list") || path.endsWith("/tags/list/")) return "tags";
  if (path.endsWith("/blobs/uploads") || path.endsWith("/blobs/uploads/")) return "blob_upload";
  const last = path.lastIndexOf("/");
  const previous = path.lastIndexOf("/", last - 1);
  if (previous < 0) return "other";
  // the segment before the last one says what the last one is
  if (path.startsWith("/blobs/uploads/", previous - "/blobs".length)) return "blob_upload_chunk";
  if (path.startsWith("/manifests/", previous)) return "manifest";
  if (path.startsWith("/blobs/", previous)) return "blob";
  if (path.startsWith("/referrers/", previous)) return "referrers";
  return "other";
}
