/**
 * Upstream registries for pull-through and replication tests: Debian's `docker-registry`
 * (Distribution 2.8.2) with htpasswd auth and its access log on, so a test can count the
 * requests it received; and pushes over plain HTTP of small images and two-platform indexes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exec } from "./docker.ts";
import { distributionBinary, distributionListeningPort } from "./distribution.ts";
import { type ServerProcess, startServer } from "./process.ts";
import { removeDir, tempDir } from "./server.ts";

export interface Upstream extends ServerProcess {
  root: string;
  /** "user:password", or null when anonymous */
  creds: string | null;
}

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip";

/** docker-registry on 127.0.0.1:0; with `user`, behind htpasswd basic auth. `root` is kept when given. */
export async function startUpstream(options: { user?: string; password?: string; root?: string; port?: number } = {}): Promise<Upstream> {
  const madeRoot = options.root === undefined;
  const root = options.root ?? tempDir("berth-upstream-root-");
  const configDir = tempDir("berth-upstream-config-");
  const lines = [
    "version: 0.1",
    "log:",
    "  level: info",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${JSON.stringify(root)}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: 127.0.0.1:${options.port ?? 0}`,
    "  secret: berth-tests-not-a-secret",
  ];
  let creds: string | null = null;
  if (options.user !== undefined) {
    const password = options.password ?? "secret";
    const htpasswd = await exec(["htpasswd", "-Bbn", options.user, password]);
    writeFileSync(join(configDir, "htpasswd"), htpasswd.stdout.trim() + "\n");
    lines.push("auth:", "  htpasswd:", "    realm: upstream", `    path: ${JSON.stringify(join(configDir, "htpasswd"))}`);
    creds = `${options.user}:${password}`;
  }
  writeFileSync(join(configDir, "config.yml"), `${lines.join("\n")}\n`);
  const server = await startServer({
    name: "docker-registry (upstream)",
    cmd: [distributionBinary(), "serve", join(configDir, "config.yml")],
    cwd: configDir,
    env: { ...process.env, OTEL_TRACES_EXPORTER: "none" } as Record<string, string>,
    boundPort: distributionListeningPort,
    cleanup: () => {
      removeDir(configDir);
      if (madeRoot) removeDir(root);
    },
  });
  return { ...server, root, creds };
}

/** Access-log lines of requests `METHOD /v2/<path…>` whose path contains `fragment`, answered 2xx. */
export function accessLines(output: string, method: string, fragment: string): string[] {
  return output.split("\n").filter((line) => line.includes(`"${method} /v2/`) && line.includes(fragment) && / 20\d /.test(line.split('"')[2] ?? ""));
}

function authHeaders(creds: string | null): Record<string, string> {
  return creds ? { Authorization: `Basic ${Buffer.from(creds).toString("base64")}` } : {};
}

export function sha256(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** Monolithic blob upload (POST then PUT). */
export async function pushBlob(url: string, creds: string | null, name: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const start = await fetch(`${url}/v2/${name}/blobs/uploads/`, { method: "POST", headers: authHeaders(creds) });
  if (start.status !== 202) throw new Error(`upload start ${start.status}: ${await start.text()}`);
  const location = new URL(start.headers.get("location") ?? "", url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer>, headers: { ...authHeaders(creds), "Content-Type": "application/octet-stream" } });
  if (put.status !== 201) throw new Error(`upload ${put.status}: ${await put.text()}`);
  return digest;
}

export async function pushManifest(url: string, creds: string | null, name: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
  const put = await fetch(`${url}/v2/${name}/manifests/${reference}`, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer>, headers: { ...authHeaders(creds), "Content-Type": mediaType } });
  if (put.status !== 201) throw new Error(`manifest put ${put.status}: ${await put.text()}`);
  return sha256(bytes);
}

export interface PushedImage {
  digest: string;
  bytes: Uint8Array;
  blobs: string[];
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** An OCI image of `layers` small random layers (not runnable: for protocol-level tests). */
export async function pushSmallImage(url: string, creds: string | null, name: string, tag: string, layers = 3, platform = { architecture: "amd64", os: "linux" }): Promise<PushedImage> {
  const layerDescriptors = [];
  for (let i = 0; i < layers; i++) {
    const bytes = Bun.gzipSync(crypto.getRandomValues(new Uint8Array(2048 + i)));
    layerDescriptors.push({ mediaType: OCI_LAYER, digest: await pushBlob(url, creds, name, bytes), size: bytes.length });
  }
  const configBytes = json({ ...platform, rootfs: { type: "layers", diff_ids: [] }, config: {} });
  const config = { mediaType: OCI_CONFIG, digest: await pushBlob(url, creds, name, configBytes), size: configBytes.length };
  const bytes = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: layerDescriptors });
  const digest = await pushManifest(url, creds, name, tag, bytes, OCI_MANIFEST);
  return { digest, bytes, blobs: [config.digest, ...layerDescriptors.map((l) => l.digest)] };
}

/** A two-platform OCI index (linux/amd64, linux/arm64) of small images, tagged `tag`. */
export async function pushTwoPlatformIndex(url: string, creds: string | null, name: string, tag: string): Promise<{ digest: string; children: PushedImage[] }> {
  const platforms = [
    { architecture: "amd64", os: "linux" },
    { architecture: "arm64", os: "linux" },
  ];
  const children: PushedImage[] = [];
  for (const platform of platforms) {
    const image = await pushSmallImage(url, creds, name, `${tag}-${platform.architecture}`, 2, platform);
    children.push(image);
  }
  const manifests = children.map((child, i) => ({ mediaType: OCI_MANIFEST, digest: child.digest, size: child.bytes.length, platform: platforms[i] }));
  const bytes = json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
  return { digest: await pushManifest(url, creds, name, tag, bytes, OCI_INDEX), children };
}

/** Copies a local docker image into a registry with skopeo (credentials when given). */
export async function copyFromDocker(tag: string, target: string, creds: string | null): Promise<void> {
  await exec(["skopeo", "copy", "--dest-tls-verify=false", ...(creds ? ["--dest-creds", creds] : []), `docker-daemon:${tag}`, `docker://${target}`], { timeoutMs: 120_000 });
}

/** A port nothing listens on now (the kernel's pick), for a server started later at a known address. */
export function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

export { removeDir };
