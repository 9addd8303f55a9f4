/**
 * What the webhook and hook tests share: a real HTTP receiver on loopback that records every
 * POST, a registry.toml writer, and a small registry client (blob and manifest pushes with a
 * known User-Agent). Every wait is bounded.
 */
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RegistryEvent } from "../../../src/hooks/types.ts";

export const USER_AGENT = "berth-webhook-test/1";
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";
export const DISTRIBUTION_EVENTS = "application/vnd.docker.distribution.events.v1+json";

// ---------------------------------------------------------------------------------------------
// an event as the queue stores it

/** A push event with this id (the queue tests' item). */
export function queuedEvent(id: string): RegistryEvent {
  return {
    id,
    timestamp: new Date().toISOString(),
    action: "push",
    target: { mediaType: "application/octet-stream", digest: `sha256:${"a".repeat(64)}`, size: 1, length: 1, repository: "app", url: "http://r/v2/app" },
    request: { id: "r", addr: "127.0.0.1", host: "r", method: "PUT", useragent: "test" },
    actor: { name: "" },
    source: { addr: "r:5000", instanceID: "i" },
  };
}

// ---------------------------------------------------------------------------------------------
// the receiver

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  at: number;
}

export type Responder = (request: Received) => number | Promise<number>;

/** A webhook receiver on 127.0.0.1 that records every request; it can go down and come back on its port. */
export class TestReceiver {
  readonly received: Received[] = [];
  private server: ReturnType<typeof Bun.serve> | null = null;
  respond: Responder = () => 200;

  private constructor(readonly port: number) {}

  static async start(respond?: Responder): Promise<TestReceiver> {
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    const port = probe.port;
    await probe.stop(true);
    if (port === undefined) throw new Error("No free port");
    const receiver = new TestReceiver(port);
    if (respond) receiver.respond = respond;
    receiver.up();
    return receiver;
  }

  url(path = "/hook"): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  up(): void {
    if (this.server) return;
    this.server = Bun.serve({
      port: this.port,
      hostname: "127.0.0.1",
      fetch: async (request) => {
        const body = await request.text();
        let json: unknown = null;
        try {
          json = JSON.parse(body);
        } catch {
          // recorded as text only
        }
        const headers: Record<string, string> = {};
        request.headers.forEach((value, key) => {
          headers[key] = value;
        });
        const entry: Received = { path: new URL(request.url).pathname, headers, body, json, at: Date.now() };
        this.received.push(entry);
        return new Response(null, { status: await this.respond(entry) });
      },
    });
  }

  async down(): Promise<void> {
    await this.server?.stop(true);
    this.server = null;
  }

  on(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Polls until `check` holds; on timeout, fails with `describe()` of what arrived. */
  async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
      if (check()) return;
      await Bun.sleep(25);
    }
    if (check()) return;
    const paths = new Map<string, number>();
    for (const r of this.received) paths.set(r.path, (paths.get(r.path) ?? 0) + 1);
    throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; received by path: ${JSON.stringify([...paths])}`);
  }
}

/** The registry events of a `distribution`-format request. */
export function eventsOf(request: Received): RegistryEventJson[] {
  const json = request.json as { events?: RegistryEventJson[] } | null;
  if (!json || !Array.isArray(json.events)) throw new Error(`Not an events envelope: ${request.body.slice(0, 300)}`);
  return json.events;
}

export interface RegistryEventJson {
  id: string;
  timestamp: string;
  action: string;
  target: {
    mediaType: string;
    digest: string;
    size: number;
    length: number;
    repository: string;
    url: string;
    tag?: string;
    fromRepository?: string;
  };
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name: string };
  source: { addr: string; instanceID: string };
}

export function hmac(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

// ---------------------------------------------------------------------------------------------
// configuration

type TomlValue = string | number | boolean | TomlValue[] | { [key: string]: TomlValue };

function toml(value: TomlValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(toml).join(", ")}]`;
  return `{ ${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)} = ${toml(v)}`)
    .join(", ")} }`;
}

export interface ConfigParts {
  endpoints?: Array<Record<string, TomlValue>>;
  plugins?: Array<Record<string, TomlValue>>;
  /** raw TOML put first (e.g. a [hooks] table) */
  head?: string;
}

/** Writes `<dir>/registry.toml` and returns its path. */
export function writeConfig(dir: string, parts: ConfigParts): string {
  const lines: string[] = [parts.head ?? "", "[log]", 'level = "warn"', ""];
  for (const plugin of parts.plugins ?? []) {
    lines.push("[[plugins]]", ...Object.entries(plugin).map(([k, v]) => `${k} = ${toml(v)}`), "");
  }
  for (const endpoint of parts.endpoints ?? []) {
    lines.push("[[webhook.endpoints]]", ...Object.entries(endpoint).map(([k, v]) => `${k} = ${toml(v)}`), "");
  }
  const path = join(dir, "registry.toml");
  writeFileSync(path, lines.join("\n"));
  return path;
}

// ---------------------------------------------------------------------------------------------
// a small registry client

export interface Pushed {
  digest: string;
  size: number;
  /** X-Request-Id of the response */
  requestId: string;
}

function sha256(bytes: Uint8Array | string): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

async function request(url: string, init: RequestInit & { expect: number[] }): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("User-Agent", USER_AGENT);
  const res = await fetch(url, { ...init, headers, redirect: "manual", signal: AbortSignal.timeout(30_000) });
  if (!init.expect.includes(res.status)) {
    throw new Error(`${init.method ?? "GET"} ${url} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  }
  return res;
}

export type Bytes = Uint8Array<ArrayBuffer>;

export async function pushBlob(base: string, repo: string, bytes: Bytes): Promise<Pushed> {
  const digest = sha256(bytes);
  const post = await request(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST", expect: [202] });
  await post.arrayBuffer();
  const location = new URL(post.headers.get("location") ?? "", base);
  location.searchParams.set("digest", digest);
  const put = await request(location.toString(), {
    method: "PUT",
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
    expect: [201],
  });
  await put.arrayBuffer();
  return { digest, size: bytes.byteLength, requestId: put.headers.get("x-request-id") ?? "" };
}

export interface SmallImage {
  config: Pushed;
  layer: Pushed;
  manifest: Bytes;
  digest: string;
}

/** Pushes a config and a layer blob and builds (without pushing) an OCI manifest over them. */
export async function prepareImage(base: string, repo: string, text: string = crypto.randomUUID()): Promise<SmallImage> {
  const config = await pushBlob(base, repo, new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", text })));
  const layer = await pushBlob(base, repo, new TextEncoder().encode(`layer ${text}`));
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: [{ mediaType: OCI_LAYER, digest: layer.digest, size: layer.size }],
    }),
  );
  return { config, layer, manifest, digest: sha256(manifest) };
}

export async function putManifest(base: string, repo: string, reference: string, manifest: Bytes, expect = [201]): Promise<Response> {
  const res = await request(`${base}/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    body: manifest,
    headers: { "Content-Type": OCI_MANIFEST },
    expect,
  });
  await res.arrayBuffer();
  return res;
}

export async function getManifest(base: string, repo: string, reference: string, method: "GET" | "HEAD" = "GET"): Promise<Response> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference}`, {
    method,
    headers: { Accept: OCI_MANIFEST, "User-Agent": USER_AGENT },
    signal: AbortSignal.timeout(30_000),
  });
  await res.arrayBuffer();
  return res;
}

export async function tagsOf(base: string, repo: string): Promise<string[]> {
  const res = await fetch(`${base}/v2/${repo}/tags/list`, { signal: AbortSignal.timeout(30_000) });
  if (res.status === 404) {
    await res.arrayBuffer();
    return [];
  }
  const json = (await res.json()) as { tags: string[] | null };
  return json.tags ?? [];
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  });
  await Promise.all(lanes);
}
