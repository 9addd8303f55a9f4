/**
 * Starts Debian's `docker-registry` (CNCF Distribution 2.8.2) on loopback with a given filesystem
 * root directory — the reference implementation Berth's on-disk layout must match. It binds
 * port 0 and the port it got is read from its start line (`listening on 127.0.0.1:PORT`).
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { portOf, type ServerProcess, startServer } from "./process.ts";
import { removeDir, startBerth, tempDir } from "./server.ts";

export interface DistributionProcess extends ServerProcess {
  /** storage.filesystem.rootdirectory; stop() removes it when startDistribution made it (and always the config directory) */
  root: string;
}

export interface DistributionOptions {
  /** storage root, which the caller removes; a fresh temp dir, removed by stop(), otherwise */
  root?: string;
  /** registry binary; DISTRIBUTION_BIN or /usr/bin/docker-registry by default */
  bin?: string;
  /** YAML lines under `storage:` choosing another driver (indented two spaces), instead of the filesystem at root */
  storageDriver?: string[];
}

export function distributionBinary(): string {
  const bin = process.env.DISTRIBUTION_BIN ?? "/usr/bin/docker-registry";
  if (!existsSync(bin)) {
    throw new Error(`${bin} not found; install Debian's docker-registry (apt-get install docker-registry)`);
  }
  return bin;
}

/** The port in docker-registry's start line (`msg="listening on 127.0.0.1:PORT"`), or undefined before it printed it. */
export function distributionListeningPort(output: string): number | undefined {
  const addr = /msg="listening on ([^",]+)/.exec(output)?.[1];
  return addr === undefined ? undefined : portOf(addr);
}

export async function startDistribution(options: DistributionOptions = {}): Promise<DistributionProcess> {
  const bin = options.bin ?? distributionBinary();
  const madeRoot = options.root === undefined;
  const root = options.root ?? tempDir("berth-distribution-root-");
  const configDir = tempDir("berth-distribution-config-");
  const configPath = join(configDir, "config.yml");
  writeFileSync(
    configPath,
    [
      "version: 0.1",
      "log:",
      "  level: info", // the start line, which names the port, is an info line
      "  accesslog:",
      "    disabled: true",
      "storage:",
      ...(options.storageDriver ?? ["  filesystem:", `    rootdirectory: ${JSON.stringify(root)}`]),
      "  delete:",
      "    enabled: true",
      "  maintenance:",
      "    uploadpurging:",
      "      enabled: false",
      "http:",
      "  addr: 127.0.0.1:0",
      "  secret: berth-tests-not-a-secret",
      "",
    ].join("\n"),
  );
  const server = await startServer({
    name: "docker-registry",
    cmd: [bin, "serve", configPath],
    cwd: configDir,
    // AWS_CA_BUNDLE (set on some machines) makes 2.8.2's S3 driver panic at start
    env: { ...withoutAwsCaBundle(process.env), OTEL_TRACES_EXPORTER: "none" },
    boundPort: distributionListeningPort,
    cleanup: () => {
      removeDir(configDir);
      if (madeRoot) removeDir(root);
    },
  });
  return { ...server, root };
}

/** Starts Berth or docker-registry, which share one on-disk layout, on `root` (which the caller removes). */
export const startOnRoot: Record<"Berth" | "docker-registry", (root: string) => Promise<ServerProcess>> = {
  Berth: (root) => startBerth({ root }),
  "docker-registry": (root) => startDistribution({ root }),
};

function withoutAwsCaBundle(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const { AWS_CA_BUNDLE: _ignored, ...rest } = env;
  return rest;
}
