/**
 * The scale-out set-up (issue #16): N Berth replicas of the compiled binary sharing one S3
 * bucket on a Ceph RGW and one fresh PostgreSQL database, behind Debian's HAProxy (round robin,
 * tests/helpers/haproxy.ts). Each replica has a temp storage root of its own (storage.root holds
 * local state with the S3 driver) and binds 127.0.0.1 on a port of the kernel's choice; a
 * restarted replica binds the port it had, so HAProxy's configuration stays as it is.
 *
 * Which replica answered what is read from the replicas' access logs (Berth logs every request
 * at level info): requestsPerReplica() and requestLog().
 *
 * stop() removes everything it made: replicas, HAProxy, temp roots, the database, and Ceph when
 * startCluster started it. Every wait is bounded.
 */
import { CEPH_ACCESS_KEY, CEPH_REGION, CEPH_SECRET_KEY, type CephCluster, cephAvailable, startCeph } from "./ceph.ts";
import { type Haproxy, haproxyInstalled, type ServerState, startHaproxy } from "./haproxy.ts";
import { createTestDatabase, postgresUrl, type TestDatabase } from "./postgres.ts";
import { type BerthProcess, removeDir, startBerth, tempDir } from "./server.ts";

export interface Replica {
  /** 0-based, as HAProxy names it (r0, r1, ...) */
  index: number;
  port: number;
  /** http://127.0.0.1:port: this replica directly, past HAProxy */
  url: string;
  /** its local state directory (storage.root), kept across restarts */
  root: string;
  /** the running process (a new one after restart()) */
  process: BerthProcess;
  /** sends `signal` (SIGKILL by default) and waits (at most 10 s) for the process to end */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** starts the replica again on its port and root, with the cluster's environment */
  restart(): Promise<void>;
}

/** One access log line of a replica. */
export interface LoggedRequest {
  /** the line's ISO time stamp (milliseconds): requestLog() sorts by it */
  time: string;
  replica: number;
  method: string;
  path: string;
  status: number;
}

export interface Cluster {
  /** http://127.0.0.1:port of HAProxy */
  url: string;
  /** 127.0.0.1:port of HAProxy, as docker and skopeo name a registry */
  host: string;
  replicas: Replica[];
  haproxy: Haproxy;
  /** the environment every replica gets (S3, metadata URL and `env`): start another one with it */
  env: Record<string, string>;
  ceph: CephCluster;
  databaseUrl: string;
  bucket: string;
  /** requests each replica logged (index order), health checks left out; every process since start */
  requestsPerReplica(): number[];
  /** every request the replicas logged, health checks left out, in time order (ties: by replica) */
  requestLog(): LoggedRequest[];
  /**
   * Waits (15 s by default) until HAProxy's health check has put replica `index` back in the
   * rotation (`up`) or taken it out (not `up`), e.g. after kill() or restart().
   */
  waitForReplica(index: number, up: boolean, timeoutMs?: number): Promise<void>;
  /** the replicas' and HAProxy's output, for withServerLog / testWithServerLog */
  servers(): { output(): string }[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  replicas?: number;
  /** more environment for every replica (BERTH_* keys of the configuration) */
  env?: Record<string, string>;
  /** a Ceph already started (the caller stops it); one of our own otherwise */
  ceph?: CephCluster;
  /** a bucket of that Ceph; a new one otherwise */
  bucket?: string;
  /** HAProxy logs every request (which server, timings, status) to its output */
  haproxyLog?: boolean;
}

/**
 * Are Ceph, PostgreSQL (BERTH_TEST_POSTGRES_URL) and HAProxy here? False with a warning when not
 * (the caller skips); under CI a missing piece throws instead.
 */
export function clusterAvailable(): boolean {
  if (!cephAvailable()) return false;
  const missing = [postgresUrl() === null ? "PostgreSQL (BERTH_TEST_POSTGRES_URL)" : "", haproxyInstalled() ? "" : "haproxy"].filter((item) => item !== "");
  if (missing.length === 0) return true;
  const message = `the scale-out tests need ${missing.join(" and ")} (\`source tests/machine.sh\` as root prepares them)`;
  if (process.env.CI === "true" || process.env.CI === "1") throw new Error(`CI is set but ${message}`);
  console.warn(`[tests/helpers/cluster.ts] ${message}: skipped`);
  return false;
}

const ACCESS_LINE = /^(\S+) INFO request (.*)$/;

/** method, path and status of a text access log line's fields, or null for another line */
function parseAccessLine(line: string): Omit<LoggedRequest, "replica"> | null {
  const match = ACCESS_LINE.exec(line);
  const time = match?.[1];
  const fields = match?.[2];
  if (time === undefined || fields === undefined) return null;
  const method = / method=(\S+)/.exec(` ${fields}`)?.[1];
  const path = / path=(\S+)/.exec(` ${fields}`)?.[1];
  const status = Number(/ status=(\d+)/.exec(` ${fields}`)?.[1]);
  if (method === undefined || path === undefined || !Number.isInteger(status)) return null;
  return { time, method, path, status };
}

/** @throws Error when a piece does not start (what was started is stopped first) */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const count = options.replicas ?? 3;
  const cleanups: Array<() => Promise<void>> = [];
  const undo = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const ceph = options.ceph ?? (await startCeph());
    if (options.ceph === undefined) cleanups.push(() => ceph.stop());
    const bucket = options.bucket ?? (await ceph.createBucket());
    const database: TestDatabase = await createTestDatabase("berth_cluster");
    cleanups.push(() => database.drop());
    const env: Record<string, string> = {
      BERTH_STORAGE_DRIVER: "s3",
      BERTH_STORAGE_S3_BUCKET: bucket,
      BERTH_STORAGE_S3_ENDPOINT: ceph.endpoint,
      BERTH_STORAGE_S3_REGION: CEPH_REGION,
      BERTH_STORAGE_S3_FORCE_PATH_STYLE: "true",
      AWS_ACCESS_KEY_ID: CEPH_ACCESS_KEY,
      AWS_SECRET_ACCESS_KEY: CEPH_SECRET_KEY,
      BERTH_METADATA_URL: database.url,
      ...options.env,
    };
    // every process a replica ran, in order: its log outlives a kill
    const processes: BerthProcess[][] = [];
    const makeReplica = async (index: number): Promise<Replica> => {
      const root = tempDir(`berth-replica-${index}-`);
      cleanups.push(async () => removeDir(root));
      processes[index] = [];
      const first = await startBerth({ root, env });
      processes[index].push(first);
      cleanups.push(async () => {
        for (const process of processes[index] ?? []) await process.stop();
      });
      const replica: Replica = {
        index,
        port: first.port,
        url: first.url,
        root,
        process: first,
        async kill(signal = "SIGKILL") {
          const proc = replica.process.proc;
          proc.kill(signal);
          await Promise.race([proc.exited, Bun.sleep(10_000)]);
        },
        async restart() {
          const next = await startBerth({ root, env, port: replica.port });
          processes[index]?.push(next);
          replica.process = next;
        },
      };
      return replica;
    };
    // all together, as docker compose starts them: creating the schema and the first token key
    // on a new database and bucket must not race
    const replicas = await Promise.all(Array.from({ length: count }, (_, i) => makeReplica(i)));
    const haproxy = await startHaproxy(
      replicas.map((replica) => replica.port),
      options.haproxyLog ? { requestLog: true } : {},
    );
    cleanups.push(() => haproxy.stop());
    // HAProxy counts a server up before its first check: wait for a passed check of each
    for (const replica of replicas) await waitForState(haproxy, replica.index, true, 15_000);

    const requestLog = (): LoggedRequest[] =>
      processes.flatMap((list, replica) =>
        list.flatMap((process) =>
          process
            .output()
            .split("\n")
            .flatMap((line) => {
              const entry = parseAccessLine(line);
              return entry === null || entry.path === "/healthz" ? [] : [{ replica, ...entry }];
            }),
        ),
      ).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    return {
      url: haproxy.url,
      host: `127.0.0.1:${haproxy.port}`,
      replicas,
      haproxy,
      env,
      ceph,
      databaseUrl: database.url,
      bucket,
      requestLog,
      requestsPerReplica() {
        const counts = replicas.map(() => 0);
        for (const entry of requestLog()) counts[entry.replica] = (counts[entry.replica] ?? 0) + 1;
        return counts;
      },
      waitForReplica: (index, up, timeoutMs = 15_000) => waitForState(haproxy, index, up, timeoutMs),
      servers: () => [...replicas.map((replica) => replica.process), haproxy],
      stop: undo,
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

/** Is this server in the rotation, its last check passed? ("UP 1/2" is on its way down) */
function serving(state: ServerState): boolean {
  return state.status === "UP" && state.check === "L7OK";
}

/**
 * Waits (at most `timeoutMs`) until HAProxy's check of replica `index` says it serves (`up`) or
 * was taken out of the rotation (not `up`).
 * @throws Error with the servers' states when it does not happen in time
 */
async function waitForState(haproxy: Haproxy, index: number, up: boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await haproxy.servers();
    const state = states.find((entry) => entry.name === `r${index}`);
    if (state !== undefined && (up ? serving(state) : state.status.startsWith("DOWN"))) return;
    if (Date.now() > deadline) {
      throw new Error(`HAProxy did not ${up ? "put replica r" + index + " in" : "take replica r" + index + " out of"} the rotation within ${timeoutMs} ms: ${JSON.stringify(states)}`);
    }
    await Bun.sleep(100);
  }
}
