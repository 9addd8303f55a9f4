/**
 * An index rebuild while the registry serves (`berth index rebuild` beside a server, `fsck
 * --repair`, the first start over a registry:2 tree) must not undo what a push did meanwhile:
 * a repository the walk did not see, because it was created after the walk went past its
 * name, stays in the index with its manifests, and the blobs they use are not queued for GC.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rebuildIndex } from "../../src/metadata/rebuild.ts";
import type { TreeReader } from "../../src/metadata/tree.ts";
import { treeReader } from "../../src/registry/tree-reader.ts";
import { FilesystemDriver } from "../../src/storage/filesystem.ts";
import { startInProcess } from "../helpers/in-process.ts";
import { pushImage } from "../helpers/oci.ts";
import { createTestDatabase, metadataBackends, type TestDatabase } from "../helpers/postgres.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

/** The tree as a walk that went past `hidden` before it was created sees it. */
function walkMissing(tree: TreeReader, hidden: string): TreeReader {
  return {
    ...tree,
    async *repositories() {
      for await (const name of tree.repositories()) if (name !== hidden) yield name;
    },
  };
}

describe.each(metadataBackends())("index rebuild beside pushes (%s)", (backend) => {
  test("a repository pushed after the walk passed it keeps its rows, and its blobs stay unqueued", async () => {
    const root = tempDir("berth-rebuild-");
    const env: Record<string, string> = { BERTH_STORAGE_DRIVER: "filesystem", BERTH_GC_DELAY: "0s" };
    if (backend === "postgres") {
      const database = await createTestDatabase("berth_rebuild");
      databases.push(database);
      env.BERTH_METADATA_URL = database.url;
    }
    const berth = await startInProcess({ root, env });
    try {
      await berth.indexBuilt;
      await pushImage(berth.url, "team/early", { tag: "v1" });
      const late = await pushImage(berth.url, "team/late", { tag: "v1" });
      const tree = walkMissing(treeReader(new FilesystemDriver(root)), "team/late");

      const report = await rebuildIndex(berth.index, tree, { delayMs: 0 });
      expect(report.repositories).toBe(2); // both counted: team/late was rebuilt when found in the index
      expect(await berth.index.repositories()).toEqual(["team/early", "team/late"]);
      expect(await berth.index.tags("team/late")).toEqual(["v1"]);
      const sql = berth.index.database.sql;
      const queued: unknown = await sql`SELECT digest FROM blobs WHERE review_at IS NOT NULL`;
      expect(queued).toEqual([]);
      const layer: unknown = await sql`SELECT digest FROM blobs WHERE digest = ${late.layers[0]?.digest ?? ""}`;
      expect(Array.isArray(layer) ? layer.length : 0).toBe(1);
    } finally {
      await berth.stop();
      removeDir(root);
    }
  });
});
