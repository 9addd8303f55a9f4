/**
 * A single-node Ceph RGW for the S3 tests, started by the test file that needs it
 * (tests/ceph/ceph-up.sh: one monitor, one memstore OSD, radosgw, all on 127.0.0.1; a few
 * seconds) and stopped by PID afterwards (ceph-down.sh), its directory removed.
 *
 * RGW is told to accept parts of 64 KiB (rgw multipart min part size; S3 and RGW's default is
 * 5 MiB), so uploads of more than 1,000 parts stay small and fast.
 *
 * The Debian packages (ceph-mon, ceph-osd, radosgw, ceph-common, uuid-runtime) are installed by
 * tests/machine.sh. Without them, a local run skips the S3 tests saying so; CI fails instead.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { S3Requests } from "../../src/storage/s3/requests.ts";
import type { S3Settings } from "../../src/storage/s3/settings.ts";
import { runToExit } from "./process.ts";
import { repoRoot, removeDir, tempDir } from "./server.ts";

export const CEPH_ACCESS_KEY = "berthtests";
export const CEPH_SECRET_KEY = "berthtestsecret";
export const CEPH_REGION = "us-east-1";
/** the smallest part RGW accepts here */
export const CEPH_MIN_PART = 64 * 1024;

export interface CephCluster {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** a new bucket, named uniquely */
  createBucket(): Promise<string>;
  /** driver settings for `bucket` */
  settings(bucket: string, overrides?: Partial<S3Settings>): S3Settings;
  stop(): Promise<void>;
}

let buckets = 0;

/** Are the Ceph programs installed? */
export function cephInstalled(): boolean {
  return ["/usr/bin/ceph-mon", "/usr/bin/ceph-osd", "/usr/bin/radosgw"].every((path) => existsSync(path));
}

/** Throws under CI when Ceph is missing; else false with a warning, so the caller skips. */
export function cephAvailable(): boolean {
  if (cephInstalled()) return true;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error("CI is set but Ceph is not installed (tests/machine.sh installs ceph-mon, ceph-osd, radosgw)");
  console.warn("[tests/helpers/ceph.ts] Ceph is not installed: the S3 tests are skipped (`source tests/machine.sh` as root installs it)");
  return false;
}

/** A port free now (the kernel's choice for port 0, released at once). */
function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = server;
  server.stop(true);
  return port;
}

/** @throws Error with the script's output when the cluster does not come up */
export async function startCeph(): Promise<CephCluster> {
  const dir = tempDir("berth-ceph-");
  const [monPort, rgwPort] = [freePort(), freePort()];
  const env = { ...process.env, PATH: process.env.PATH ?? "/usr/bin:/bin" } as Record<string, string>;
  const stop = async () => {
    await runToExit([join(repoRoot, "tests/ceph/ceph-down.sh"), dir], { cwd: repoRoot, env, timeoutMs: 30_000 });
    removeDir(dir);
  };
  const up = await runToExit([join(repoRoot, "tests/ceph/ceph-up.sh"), dir, String(monPort), String(rgwPort)], { cwd: repoRoot, env, timeoutMs: 180_000 });
  if (up.code !== 0) {
    await stop();
    throw new Error(`Ceph did not start (exit ${up.code}${up.timedOut ? ", timed out" : ""}):\n${up.stdout}\n${up.stderr}`);
  }
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const settings = (bucket: string, overrides: Partial<S3Settings> = {}): S3Settings => ({
    bucket,
    region: CEPH_REGION,
    endpoint,
    accessKey: CEPH_ACCESS_KEY,
    secretKey: CEPH_SECRET_KEY,
    prefix: "",
    pathStyle: true,
    chunkSize: 5 * 1024 * 1024,
    redirect: false,
    ...overrides,
  });
  return {
    endpoint,
    settings,
    async createBucket() {
      const bucket = `berth-${process.pid}-${++buckets}`;
      await new S3Requests(settings(bucket)).createBucket();
      return bucket;
    },
    stop,
  };
}
