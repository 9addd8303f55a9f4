/**
 * What replicas agree on through the shared PostgreSQL database (src/cluster/): leases (one
 * holder, taken over when it runs out), blob claims against pins (GC and a push on different
 * replicas, in both orders), journal entries settled only for replicas that died, liveness.
 * Each "replica" here is a Cluster over its own connection pool to one fresh database.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { Cluster } from "../../src/cluster/cluster.ts";
import { MetadataDatabase } from "../../src/metadata/database.ts";
import { MetadataIndex } from "../../src/metadata/index.ts";
import { treeReader } from "../../src/registry/tree-reader.ts";
import { InMemoryDriver } from "../../src/storage/memory.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";

const onPostgres = metadataBackends().includes("postgres");
const quiet = () => {};

describe.skipIf(!onPostgres)("replicas through PostgreSQL", () => {
  const databases: TestDatabase[] = [];
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
    for (const db of databases) await db.drop();
  });

  async function replicas(count: number, gcDelayMs = 0): Promise<{ db: TestDatabase; clusters: Cluster[]; sql: SQL }> {
    const db = await createTestDatabase("berth_cluster_unit");
    databases.push(db);
    const clusters: Cluster[] = [];
    for (let i = 0; i < count; i++) {
      const database = await MetadataDatabase.open({ url: db.url, root: "", inMemory: false });
      const cluster = await Cluster.open(database, { replica: `replica-${i}`, log: quiet, addr: () => `127.0.0.1:${5000 + i}`, gcDelayMs });
      closers.push(async () => {
        await cluster.close();
        await database.close();
      });
      clusters.push(cluster);
    }
    const sql = new SQL(db.url, { max: 2 });
    closers.push(() => sql.close());
    return { db, clusters, sql };
  }

  test("a lease has one holder; the other is told who; a lease that ran out is taken over", async () => {
    const { clusters, sql } = await replicas(2);
    const [a, b] = clusters as [Cluster, Cluster];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = a.exclusive("gc", () => held.then(() => "a ran"));
    await Bun.sleep(100);
    expect(await b.exclusive("gc", async () => "b ran")).toEqual({ ran: false, holder: "replica-0" });
    release();
    expect(await first).toEqual({ ran: true, value: "a ran" });
    // released at the end: b may run now
    expect(await b.exclusive("gc", async () => "b ran")).toEqual({ ran: true, value: "b ran" });
    // a holder that died: its row stays until it runs out
    await sql`INSERT INTO cluster_leases (name, holder, expires_at) VALUES ('gc', 'replica-gone', (extract(epoch from clock_timestamp()) * 1000)::bigint + 60000)`;
    expect(await a.exclusive("gc", async () => "a ran")).toEqual({ ran: false, holder: "replica-gone" });
    await sql`UPDATE cluster_leases SET expires_at = 0 WHERE name = 'gc'`;
    expect(await a.exclusive("gc", async () => "a ran")).toEqual({ ran: true, value: "a ran" });
  });

  test("GC's claim and a push's pin of the same blob: whichever lands first wins, the other sees it", async () => {
    const { clusters, sql } = await replicas(2);
    const [collector, pusher] = clusters as [Cluster, Cluster];
    const due = async (digest: string) =>
      sql`INSERT INTO blobs (digest, size, created_at, review_at) VALUES (${digest}, 1, 0, ${Date.now() - 1000})`;
    // the pin first: the review is pushed back, the claim fails
    await due("sha256:pinned");
    await pusher.blobClaims?.pin(["sha256:pinned"]);
    expect(await collector.blobClaims?.claim("sha256:pinned", Date.now())).toBe(false);
    // the claim first: the pin waits until the collector is done
    await due("sha256:claimed");
    expect(await collector.blobClaims?.claim("sha256:claimed", Date.now())).toBe(true);
    let pinned = false;
    const pin = pusher.blobClaims?.pin(["sha256:claimed"]).then(() => (pinned = true));
    await Bun.sleep(300);
    expect(pinned).toBe(false);
    await sql`DELETE FROM blobs WHERE digest = 'sha256:claimed'`; // what the collector deletes
    await collector.blobClaims?.release("sha256:claimed");
    await pin;
    expect(pinned).toBe(true);
    // a referenced blob is never claimed
    await due("sha256:used");
    await sql`INSERT INTO manifest_references (repository, digest, child, kind, size) VALUES ('r', 'sha256:m', 'sha256:used', 'blob', 1)`;
    expect(await collector.blobClaims?.claim("sha256:used", Date.now())).toBe(false);
    // a claim a dead collector left goes stale after a minute: pins stop waiting for it
    await due("sha256:stale");
    await sql`INSERT INTO cluster_blob_claims (digest, holder, claimed_at) VALUES ('sha256:stale', 'replica-gone', (extract(epoch from clock_timestamp()) * 1000)::bigint - 120000)`;
    await pusher.blobClaims?.pin(["sha256:stale"]);
  });

  test("a replica settles journal entries of replicas that are not alive, never those of live ones", async () => {
    const { db, clusters, sql } = await replicas(1);
    const [live] = clusters as [Cluster];
    await live.start(); // its heartbeat row
    const index = await MetadataIndex.open({ url: db.url, root: "", inMemory: false }, { delayMs: 0, syncTree: async () => {}, journalOwner: live.replica });
    closers.push(() => index.close());
    for (const [id, tag] of [[`${live.replica}/1`, "mine"], ["replica-dead/2", "theirs"], ["3", "old"]] as const) {
      await sql`INSERT INTO journal (id, repository, digest, tag, started_at) VALUES (${id}, 'r', NULL, ${tag}, 0)`;
    }
    const alive = await live.alive();
    const settled = await index.recover(treeReader(new InMemoryDriver()), (owner) => !alive.has(owner));
    expect(settled).toBe(2);
    const left = await sql`SELECT id FROM journal ORDER BY id`;
    expect(left.map((row: Record<string, unknown>) => String(row.id))).toEqual([`${live.replica}/1`]);
  });

  test("alive: replicas seen within 15 s; a closed one leaves the list", async () => {
    const { clusters, sql } = await replicas(2);
    const [a, b] = clusters as [Cluster, Cluster];
    await a.start();
    await b.start();
    await sql`INSERT INTO cluster_replicas (id, addr, started_at, seen_at) VALUES ('replica-quiet', '', 0, (extract(epoch from clock_timestamp()) * 1000)::bigint - 20000)`;
    expect([...(await a.alive())].sort()).toEqual(["replica-0", "replica-1"]);
    await b.close();
    expect([...(await a.alive())].sort()).toEqual(["replica-0"]);
  });
});
