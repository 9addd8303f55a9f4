/**
 * The scale-out set-up itself (tests/helpers/cluster.ts): three Berth replicas on one Ceph RGW
 * bucket and one PostgreSQL database behind HAProxy. Round robin spreads the requests of ONE
 * keep-alive connection over all replicas, and a replica killed with SIGKILL leaves the rotation
 * so that requests through HAProxy go on succeeding.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { type Cluster, clusterAvailable, startCluster } from "../helpers/cluster.ts";
import { testWithServerLog } from "../helpers/server.ts";

const available = clusterAvailable();

describe.skipIf(!available)("three replicas behind HAProxy", () => {
  let cluster: Cluster | null = null;
  const test = testWithServerLog(() => cluster?.servers() ?? []);

  beforeAll(async () => {
    cluster = await startCluster({ replicas: 3 });
  }, 240_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  function running(): Cluster {
    if (!cluster) throw new Error("the cluster did not start");
    return cluster;
  }

  test("30 sequential requests on one keep-alive connection reach all three replicas", async () => {
    const { url } = running();
    const before = running().requestsPerReplica();
    // one client connection: fetch keeps it alive and reuses it for sequential requests
    for (let i = 0; i < 30; i++) {
      const response = await fetch(`${url}/v2/`);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
    }
    // the access line is written once the body went out: give the pipes a moment (bounded)
    const deadline = Date.now() + 3_000;
    let added = running().requestsPerReplica().map((n, i) => n - (before[i] ?? 0));
    while (added.reduce((a, b) => a + b, 0) < 30 && Date.now() < deadline) {
      await Bun.sleep(50);
      added = running().requestsPerReplica().map((n, i) => n - (before[i] ?? 0));
    }
    expect(added.reduce((a, b) => a + b, 0)).toBe(30);
    // round robin: each replica gets a third; a connection pinned to one server would give 30/0/0
    for (const count of added) expect(count).toBeGreaterThanOrEqual(5);
  }, 30_000);

  test("a replica killed with SIGKILL leaves the rotation: requests through HAProxy go on succeeding", async () => {
    const { url, replicas } = running();
    const victim = replicas[1];
    if (!victim) throw new Error("no second replica");
    await victim.kill("SIGKILL");
    // health checks every 500 ms, down after two failures; a refused connection is redispatched
    // meanwhile, so requests may succeed at once: wait (bounded) for a run of 20 successes
    const deadline = Date.now() + 15_000;
    let streak = 0;
    const failures: string[] = [];
    while (streak < 20 && Date.now() < deadline) {
      const status = await fetch(`${url}/v2/`).then(
        async (response) => {
          await response.arrayBuffer();
          return response.status;
        },
        (error: unknown) => String(error),
      );
      if (status === 200) streak++;
      else {
        streak = 0;
        failures.push(String(status));
        await Bun.sleep(100);
      }
    }
    expect(streak, `last failures: ${failures.slice(-5).join(", ")}`).toBe(20);
    await running().waitForReplica(1, false);
    const before = running().requestsPerReplica();
    for (let i = 0; i < 10; i++) {
      const response = await fetch(`${url}/v2/`);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
    }
    await Bun.sleep(200);
    const added = running().requestsPerReplica().map((n, i) => n - (before[i] ?? 0));
    expect(added[1]).toBe(0);
    expect((added[0] ?? 0) + (added[2] ?? 0)).toBe(10);
  }, 30_000);
});
