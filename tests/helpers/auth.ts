/**
 * Helpers for access-control tests: a config file with [auth] and [[access]], an htpasswd file,
 * a test CA made with openssl (server certificate for IP 127.0.0.1, client certificate), a
 * Berth process that may serve HTTPS, token and basic clients, a minimal OCI push, and a
 * snapshot of the storage tree to prove that a refused request changed nothing.
 *
 * Every wait and loop is bounded.
 */
import { expect } from "bun:test";
import { createHash, randomUUID } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashPassword } from "../../src/auth/password.ts";
import { exec } from "./docker.ts";
import { type BerthProcess, removeDir, startBerth, tempDir } from "./server.ts";

// ---------------------------------------------------------------------------------------------
// files

export interface TestUser {
  name: string;
  password: string;
  algorithm?: "bcrypt" | "argon2id";
}

/** Writes an htpasswd file for `users` (argon2id unless a user asks for bcrypt). */
export async function writeHtpasswd(path: string, users: TestUser[]): Promise<void> {
  const lines: string[] = [];
  for (const user of users) lines.push(`${user.name}:${await hashPassword(user.password, user.algorithm ?? "argon2id")}`);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, lines.join("\n") + "\n", { mode: 0o600 });
}

export interface TestCa {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** PEM text of the CA certificate */
  caPem: string;
}

/** A throw-away CA (EC P-256) with a server certificate for IP:127.0.0.1 and a client certificate. */
export async function makeTestCa(dir: string = tempDir("berth-ca-")): Promise<TestCa> {
  const file = (name: string) => join(dir, name);
  const ssl = (args: string[]) => exec(["openssl", ...args], { cwd: dir, timeoutMs: 20_000 });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await ssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Berth Test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n");
  writeFileSync(file("client.ext"), "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n");
  for (const who of ["server", "client"]) {
    await ssl(["req", ...ec, "-keyout", `${who}.key`, "-out", `${who}.csr`, "-subj", `/CN=berth-test-${who}`]);
    await ssl(["x509", "-req", "-in", `${who}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
      "-out", `${who}.crt`, "-days", "2", "-extfile", `${who}.ext`]);
  }
  return {
    dir,
    caCert: file("ca.crt"),
    serverCert: file("server.crt"),
    serverKey: file("server.key"),
    clientCert: file("client.crt"),
    clientKey: file("client.key"),
    caPem: readFileSync(file("ca.crt"), "utf8"),
  };
}

// ---------------------------------------------------------------------------------------------
// a Berth process (HTTP or HTTPS)

export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface AuthBerth extends BerthProcess {
  /** TLS options for fetch (HTTPS servers only) */
  tls: ClientTls | undefined;
}

export interface StartAuthOptions {
  /** the text of the configuration file, written to <root>/<configName>; its paths are relative to root */
  config: string;
  /** registry.toml unless named (config.yml for registry:2's format) */
  configName?: string;
  /** writes what the configuration names (users file, certificates) into the root before Berth starts */
  prepare?: (root: string) => void | Promise<void>;
  /** the file and variables place the server themselves (address, root): no BERTH_HTTP_ADDR or BERTH_STORAGE_ROOT */
  placedByConfig?: boolean;
  /** which the caller removes; a fresh temp dir, removed by stop() (or when the start fails), otherwise */
  root?: string;
  env?: Record<string, string>;
  /** the CA to trust and, for mutual TLS, the client certificate to present */
  tls?: ClientTls;
}

/** Starts `berth serve --config <root>/registry.toml` (data under <root>/data) and waits for its start line. */
export async function startAuthBerth(options: StartAuthOptions): Promise<AuthBerth> {
  const madeRoot = options.root === undefined;
  const root = options.root ?? tempDir("berth-auth-");
  let berth: BerthProcess;
  try {
    await options.prepare?.(root);
    const configFile = join(root, options.configName ?? "registry.toml");
    writeFileSync(configFile, options.config);
    const placedByConfig = options.placedByConfig === true;
    const env = placedByConfig ? (options.env ?? {}) : { BERTH_STORAGE_ROOT: join(root, "data"), ...options.env };
    berth = await startBerth({ root, args: ["serve", "--config", configFile], env, placedByConfig });
  } catch (error) {
    if (madeRoot) removeDir(root);
    throw error;
  }
  return {
    ...berth,
    url: options.tls ? berth.url.replace(/^http:/, "https:") : berth.url,
    tls: options.tls,
    async stop() {
      await berth.stop();
      if (madeRoot) removeDir(root);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP with credentials

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

export interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | string;
}

export async function send(berth: { url: string; tls: ClientTls | undefined }, path: string, init: SendInit = {}): Promise<Reply> {
  const res = await fetch(new URL(path, berth.url), {
    method: init.method ?? "GET",
    headers: init.headers ?? {},
    redirect: "manual",
    signal: AbortSignal.timeout(30_000),
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(berth.tls ? { tls: berth.tls } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

/** GET /auth/token for `scopes` (anonymous without credentials); throws unless 200. */
export async function fetchToken(
  berth: { url: string; tls: ClientTls | undefined },
  scopes: string[],
  credentials?: { user: string; password: string },
): Promise<{ token: string; expires_in: number; claims: Record<string, unknown> }> {
  const query = new URLSearchParams({ service: "berth" });
  for (const scope of scopes) query.append("scope", scope);
  const headers: Record<string, string> = credentials ? { Authorization: basicHeader(credentials.user, credentials.password) } : {};
  const reply = await send(berth, `/auth/token?${query}`, { headers });
  if (reply.status !== 200) throw new Error(`GET /auth/token answered ${reply.status}: ${reply.text}`);
  const body = JSON.parse(reply.text) as { token: string; access_token: string; expires_in: number };
  const payload = body.token.split(".")[1] ?? "";
  return { token: body.token, expires_in: body.expires_in, claims: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) };
}

/** A caller: a user (or null for anonymous) who authenticates the way `mode` says. */
export interface Caller {
  mode: "basic" | "token";
  user: { user: string; password: string } | null;
}

/** The Authorization header this caller sends for `scopes` (none for anonymous basic). */
export async function authorization(berth: { url: string; tls: ClientTls | undefined }, caller: Caller, scopes: string[]): Promise<Record<string, string>> {
  if (caller.mode === "basic") return caller.user ? { Authorization: basicHeader(caller.user.user, caller.user.password) } : {};
  const { token } = await fetchToken(berth, scopes, caller.user ?? undefined);
  return { Authorization: `Bearer ${token}` };
}

// ---------------------------------------------------------------------------------------------
// a minimal OCI image push

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Uploads one blob (POST then PUT); returns the status of the first refused step, or 201. */
export async function uploadBlob(berth: { url: string; tls: ClientTls | undefined }, repo: string, bytes: Uint8Array<ArrayBuffer>, headers: Record<string, string>): Promise<number> {
  const start = await send(berth, `/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  if (start.status !== 202) return start.status;
  const location = new URL(start.headers.get("location") ?? "", berth.url);
  location.searchParams.set("digest", sha256(bytes));
  const put = await send(berth, location.pathname + location.search, {
    method: "PUT",
    headers: { ...headers, "Content-Type": "application/octet-stream" },
    body: bytes,
  });
  return put.status;
}

export interface BuiltImage {
  config: Uint8Array<ArrayBuffer>;
  layer: Uint8Array<ArrayBuffer>;
  manifest: string;
  digest: string;
}

export function buildImage(): BuiltImage {
  const encoder = new TextEncoder();
  const config = encoder.encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, nonce: randomUUID() }));
  const layer = encoder.encode(`layer ${randomUUID()}`);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
  });
  return { config, layer, manifest, digest: sha256(manifest) };
}

/** Pushes a fresh image as `tag`; returns the first status that is not a success, or 201, and the image. */
export async function pushTestImage(
  berth: { url: string; tls: ClientTls | undefined },
  repo: string,
  tag: string,
  headers: Record<string, string>,
): Promise<{ status: number; image: BuiltImage }> {
  const image = buildImage();
  for (const blob of [image.config, image.layer]) {
    const status = await uploadBlob(berth, repo, blob, headers);
    if (status !== 201) return { status, image };
  }
  const put = await send(berth, `/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { ...headers, "Content-Type": OCI_MANIFEST },
    body: image.manifest,
  });
  return { status: put.status, image };
}

// ---------------------------------------------------------------------------------------------
// storage snapshot

/**
 * An access-matrix cell: runs `act` and expects `expected`; when that is a refusal, the tree
 * under `dir()` must not have changed (a refused request never touches storage).
 */
export function cellKeepingTree(dir: () => string): (expected: number, act: () => Promise<number>) => Promise<void> {
  return async (expected, act) => {
    const before = expected >= 400 ? snapshot(dir()) : [];
    const status = await act();
    expect(status).toBe(expected);
    if (expected >= 400) expect(snapshot(dir())).toEqual(before);
  };
}

/** Every file and directory under `dir` with its size and, for small files, a hash of its content. */
export function snapshot(dir: string, limit = 50_000): string[] {
  const out: string[] = [];
  const walk = (path: string, rel: string) => {
    if (out.length > limit) throw new Error(`More than ${limit} entries under ${dir}`);
    let entries: string[];
    try {
      entries = readdirSync(path).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      const full = join(path, name);
      const stat = lstatSync(full);
      const relName = rel === "" ? name : `${rel}/${name}`;
      if (stat.isDirectory()) {
        out.push(`${relName}/`);
        walk(full, relName);
      } else {
        out.push(`${relName} ${stat.size} ${stat.size <= 4096 ? sha256(readFileSync(full)) : ""}`);
      }
    }
  };
  walk(dir, "");
  return out;
}
