/**
 * One single-node Ceph RGW on loopback for the s3 group: the tests' own set-up
 * (tests/ceph/ceph-up.sh: a monitor, a memstore OSD, radosgw; the data lives in memory), in a
 * temp directory under the work dir, stopped by PID with tests/ceph/ceph-down.sh. Needs Debian's
 * ceph-mon, ceph-osd, radosgw, ceph-common and uuid-runtime (tests/machine.sh installs them).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { S3Requests } from "../src/storage/s3/requests.ts";
import { onInterrupt } from "./cleanup.ts";
import { repoRoot } from "./config.ts";
import { execOk } from "./exec.ts";
import { freePort } from "./servers.ts";

/** An S3 bucket (or a prefix of one) a registry stores into. */
export interface S3Target {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  bucket: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

export interface Rgw {
  endpoint: string;
  /** makes bucket `name` and returns where a registry finds it */
  bucket(name: string): Promise<S3Target>;
  /** radosgw's and the OSD's process ids: their CPU is the storage's share of a row */
  pids(): number[];
  stop(): Promise<void>;
}

// the user ceph-up.sh creates
const ACCESS_KEY = "berthtests";
const SECRET_KEY = "berthtestsecret";
const REGION = "us-east-1";

export function cephInstalled(): boolean {
  return ["/usr/bin/ceph-mon", "/usr/bin/ceph-osd", "/usr/bin/radosgw"].every((path) => existsSync(path));
}

/** @throws Error with the script's output when Ceph is missing or does not come up */
export async function startRgw(workDir: string): Promise<Rgw> {
  if (!cephInstalled()) throw new Error("Ceph is not installed (ceph-mon, ceph-osd, radosgw: `source tests/machine.sh` as root installs them)");
  const dir = mkdtempSync(join(workDir, "berth-bench-ceph-"));
  const down = join(repoRoot, "tests/ceph/ceph-down.sh");
  const stopNow = () => {
    Bun.spawnSync([down, dir], { stdin: "ignore", timeout: 30_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = onInterrupt(stopNow);
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  try {
    await execOk([join(repoRoot, "tests/ceph/ceph-up.sh"), dir, String(monPort), String(rgwPort)], { timeoutMs: 180_000, cwd: repoRoot });
  } catch (error) {
    forget();
    stopNow();
    throw error;
  }
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  return {
    endpoint,
    async bucket(name) {
      const target: S3Target = { endpoint, bucket: name, region: REGION, accessKey: ACCESS_KEY, secretKey: SECRET_KEY };
      const settings = { ...target, prefix: "", pathStyle: true, chunkSize: 5 * 1024 * 1024, redirect: false };
      await new S3Requests(settings).createBucket();
      return target;
    },
    pids() {
      return ["client.rgw.a", "osd.0"].flatMap((name) => {
        try {
          const pid = Number.parseInt(readFileSync(join(dir, "run", `${name}.pid`), "utf8"), 10);
          return Number.isFinite(pid) ? [pid] : [];
        } catch {
          return [];
        }
      });
    },
    async stop() {
      forget();
      await execOk([down, dir], { timeoutMs: 30_000 }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
