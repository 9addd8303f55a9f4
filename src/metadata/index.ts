/**
 * The metadata index: facts the directory tree cannot answer quickly (sizes, dates, tag
 * history, who references a blob), kept in step with every change the registry makes.
 *
 * Crash consistency: a change that touches the tree is journaled first (durably), then made in
 * the tree, then recorded in the index in one transaction that also removes its journal entry.
 * A crash in between leaves the entry; `recover` settles it from the tree at the next start, so
 * no start walks the whole tree. Blob uploads, mounts and unlinks are journaled too: a crash
 * between the tree and the index would otherwise leave a link the index does not know, which
 * fsck reports and GC never removes.
 *
 * The tree change and its record do not wait for the disk one by one: the change ends with one
 * sync of the storage and the database (a shared syncfs when they are on one disk), and only
 * then is the client answered. If a power cut comes first, the journal entry is still on disk
 * and is settled from whatever of the tree change reached the disk.
 */
import { formatDigest, type Digest } from "../oci/digest.ts";
import type { Descriptor } from "../oci/manifest.ts";
import { type DatabaseLocation, MetadataDatabase } from "./database.ts";
import type { ManifestFacts } from "./facts.ts";
import { deleteRepositoryRows } from "./delete-repository.ts";
import { JournalWriter } from "./journal-writer.ts";
import { PullRecorder } from "./pulls.ts";
import { referrersOf, repositoryKnown, repositoryNames, tagNames } from "./queries.ts";
import { type JournalEntry, reconcile } from "./reconcile.ts";
import { optStr, rowsOf, str } from "./rows.ts";
import type { TreeReader } from "./tree.ts";
import { deleteManifest, deleteTag, putBlob, putManifest } from "./writes.ts";

export interface IndexOptions {
  /** gc.delay: how long an unreferenced blob waits after it was last touched */
  delayMs: number;
  /** Makes the storage's relaxed writes durable (StorageDriver.sync): the end of every change. */
  syncTree: () => Promise<void>;
  /**
   * Set when other processes share this index (PostgreSQL): journal entries are named
   * `<owner>/<uuid>`, so a replica settles only its own and those of replicas that died; and a
   * blob touched by a client is pushed back in the GC queue whoever queued it.
   */
  journalOwner?: string;
}

/** Whose journal entry this is: the owner part of its id ("" for one process's, or an older version's). */
export function journalOwnerOf(id: string): string {
  const slash = id.lastIndexOf("/");
  return slash < 0 ? "" : id.slice(0, slash);
}

/** What a journaled change touches: a manifest and/or tag of a repository, or a blob ("" repository). */
export type ChangeScope = Omit<JournalEntry, "id">;

export class MetadataIndex {
  /** blobs waiting for GC review: touching one pushes its review back (checked without a query) */
  private readonly reviewing = new Set<string>();
  private readonly pulls: PullRecorder;
  private readonly journal: JournalWriter;

  private constructor(
    readonly database: MetadataDatabase,
    private readonly options: IndexOptions,
  ) {
    this.pulls = new PullRecorder(database);
    this.journal = new JournalWriter(database);
  }

  static async open(location: DatabaseLocation, options: IndexOptions): Promise<MetadataIndex> {
    const index = new MetadataIndex(await MetadataDatabase.open(location), options);
    await index.loadReviewQueue();
    return index;
  }

  /**
   * Reads which blobs wait for GC review (what `touch` checks) after changes made outside the
   * methods that keep it: a rebuild, settling from the tree, a repository checked against it.
   * Only adds: one that left the queue meanwhile costs `touch` an update that changes nothing.
   */
  async loadReviewQueue(): Promise<void> {
    for (const row of rowsOf(await this.database.sql`SELECT digest FROM blobs WHERE review_at IS NOT NULL`)) this.reviewing.add(str(row, "digest"));
  }

  /** True once the index holds the whole tree (after the first rebuild). */
  async isBuilt(): Promise<boolean> {
    return rowsOf(await this.database.sql`SELECT value FROM meta WHERE key = 'built_at'`).length > 0;
  }

  async markBuilt(now = Date.now()): Promise<void> {
    await this.database.write((tx) => tx`INSERT INTO meta (key, value) VALUES ('built_at', ${String(now)})
      ON CONFLICT (key) DO UPDATE SET value = ${String(now)}`);
  }

  /**
   * Journals `scope`, runs `inTree`, then records the outcome with `inIndex` in one transaction.
   * When `inTree` fails part-way, or the record after it does, the index is settled from the
   * tree at once (or at the next start, if even that fails) and the error goes on.
   *
   * The journal entry is on disk before the tree changes (group-committed with concurrent
   * changes: journal-writer.ts), unless `durableJournal` is false: then a killed process still
   * loses nothing, and only a power cut may lose the entry (for a blob link: a link the index
   * does not know, which fsck reports and `fsck --repair` records). `inTree` may write without
   * waiting for the disk: its writes and the record are on disk when `change` resolves.
   */
  async change<T>(
    scope: ChangeScope,
    tree: TreeReader,
    inTree: () => Promise<T>,
    inIndex: (tx: Bun.SQL, result: T, now: number) => Promise<void>,
    { durableJournal = true }: { durableJournal?: boolean } = {},
  ): Promise<T> {
    const owner = this.options.journalOwner;
    const entry: JournalEntry = { id: owner ? `${owner}/${crypto.randomUUID()}` : crypto.randomUUID(), ...scope };
    await this.journal.add(entry, durableJournal);
    let result: T;
    try {
      result = await inTree();
    } catch (error) {
      await this.settle(entry, tree)
        .then(() => this.loadReviewQueue())
        .catch(() => undefined); // left for recover() at the next start
      throw error;
    }
    try {
      // not durable on its own: until it is on disk, the journal entry stands for it
      await this.database.write(
        async (tx) => {
          await inIndex(tx, result, Date.now());
          await tx`DELETE FROM journal WHERE id = ${entry.id}`;
        },
        { durable: false },
      );
    } catch (error) {
      // the tree has changed and the record did not land (PostgreSQL gave up on a conflict, the
      // database went away): settle the index from the tree now, not at the next start
      await this.settle(entry, tree)
        .then(() => this.loadReviewQueue())
        .catch(() => undefined); // left for recover() at the next start
      throw error;
    }
    // one flush for both when they share a disk: the barriers are per file system
    await Promise.all([this.options.syncTree(), this.database.persist()]);
    return result;
  }

  /**
   * Settles every change a crash left half done (see the file comment); with replicas, only
   * those whose owner `abandoned` names (a replica that died). @returns how many
   */
  async recover(tree: TreeReader, abandoned: (owner: string) => boolean = () => true): Promise<number> {
    const entries = rowsOf(await this.database.sql`SELECT id, repository, digest, tag FROM journal ORDER BY started_at`)
      .map((row): JournalEntry => ({ id: str(row, "id"), repository: str(row, "repository"), digest: optStr(row, "digest"), tag: optStr(row, "tag") }))
      .filter((entry) => abandoned(journalOwnerOf(entry.id)));
    for (const entry of entries) await this.settle(entry, tree);
    if (entries.length > 0) await this.loadReviewQueue();
    return entries.length;
  }

  // --- changes (inside `change`) ------------------------------------------------------------

  async manifestPut(tx: Bun.SQL, facts: ManifestFacts, tag: string | null, actor: string, now: number): Promise<void> {
    await putManifest(tx, facts, tag, actor, now);
    this.reviewing.delete(facts.digest);
    for (const reference of facts.references) this.reviewing.delete(reference.digest);
  }

  async tagDeleted(tx: Bun.SQL, repository: string, tag: string, actor: string, now: number): Promise<void> {
    await deleteTag(tx, repository, tag, actor, now);
  }

  async manifestDeleted(tx: Bun.SQL, repository: string, digest: Digest, actor: string, now: number): Promise<void> {
    const queued = await deleteManifest(tx, repository, formatDigest(digest), actor, now, now + this.options.delayMs);
    for (const d of queued) this.reviewing.add(d);
  }

  /** A whole repository removed (repository-delete.ts). @returns the blobs queued for GC */
  async repositoryDeleted(tx: Bun.SQL, repository: string, actor: string, now: number): Promise<string[]> {
    const queued = await deleteRepositoryRows(tx, repository, actor, now, now + this.options.delayMs);
    for (const d of queued) this.reviewing.add(d);
    return queued;
  }

  /** A blob pushed or mounted into the repository: queued for GC while nothing references it. */
  async blobLinked(tx: Bun.SQL, repository: string, digest: Digest, size: number, now: number): Promise<void> {
    const d = formatDigest(digest);
    const queued = await putBlob(tx, repository, d, size, now, now + this.options.delayMs);
    if (queued) this.reviewing.add(d);
    else this.reviewing.delete(d);
  }

  async blobUnlinked(tx: Bun.SQL, repository: string, digest: Digest): Promise<void> {
    await tx`DELETE FROM repository_blobs WHERE repository = ${repository} AND digest = ${formatDigest(digest)}`;
  }

  /** The upload's blob recorded (inside its `change`): the session is over. */
  async uploadEnded(tx: Bun.SQL, id: string): Promise<void> {
    await tx`DELETE FROM uploads WHERE id = ${id}`;
  }

  // --- outside the journal -----------------------------------------------------------------

  /**
   * Upload sessions are recorded without waiting for the disk: nothing is promised about an
   * upload before it completes, and a row a crash leaves behind goes with `forgetUploadsBefore`.
   */
  async uploadStarted(repository: string, id: string, now = Date.now()): Promise<void> {
    await this.database.write((tx) => tx`INSERT INTO uploads (id, repository, started_at) VALUES (${id}, ${repository}, ${now}) ON CONFLICT (id) DO NOTHING`, { durable: false });
  }

  /** A session cancelled, or discarded for a wrong digest. */
  async uploadCancelled(id: string): Promise<void> {
    await this.database.write((tx) => this.uploadEnded(tx, id), { durable: false });
  }

  /** Sessions started before `cutoff` (ms), as the uploads' purge removes them from the tree. */
  async forgetUploadsBefore(cutoff: number): Promise<void> {
    await this.database.write((tx) => tx`DELETE FROM uploads WHERE started_at < ${cutoff}`, { durable: false });
  }

  /** A client used the blob (HEAD, GET, mount, a manifest naming it): its GC review waits again. */
  async touch(digest: Digest): Promise<void> {
    const d = formatDigest(digest);
    // with replicas, another may have queued it: only the update can tell
    if (!this.reviewing.has(d) && !this.options.journalOwner) return;
    const reviewAt = Date.now() + this.options.delayMs;
    try {
      if (this.options.journalOwner) {
        // one statement, no transaction around it: for the usual blob, in no queue, it changes
        // no row, writes no log and so waits for no flush on PostgreSQL
        await this.database.sql`UPDATE blobs SET review_at = ${reviewAt} WHERE digest = ${d} AND review_at IS NOT NULL`;
        return;
      }
      // not durable: a read must not wait for the disk, and a lost delay only makes a review come
      // sooner, where GC checks the references again under the blob's lock
      await this.database.write((tx) => tx`UPDATE blobs SET review_at = ${reviewAt} WHERE digest = ${d} AND review_at IS NOT NULL`, { durable: false });
    } catch {
      // a read must not fail for it (a full disk): the blob's review is only not pushed back
    }
  }

  /** Counted in memory and written in batches: a crash may lose the last seconds of counts. */
  pulled(repository: string, digest: Digest): void {
    this.pulls.record(repository, formatDigest(digest));
  }

  /** Writes the pull counts gathered so far now (tests, and before reading them back). */
  flushPulls(): Promise<void> {
    return this.pulls.flush();
  }

  // --- reads --------------------------------------------------------------------------------

  repositories(): Promise<string[]> {
    return repositoryNames(this.database.sql);
  }

  hasRepository(repository: string): Promise<boolean> {
    return repositoryKnown(this.database.sql, repository);
  }

  tags(repository: string): Promise<string[]> {
    return tagNames(this.database.sql, repository);
  }

  referrers(repository: string, subject: Digest): Promise<Descriptor[]> {
    return referrersOf(this.database.sql, repository, formatDigest(subject));
  }

  async close(): Promise<void> {
    await this.pulls.close();
    await this.database.close();
  }

  private async settle(entry: JournalEntry, tree: TreeReader): Promise<void> {
    const now = Date.now();
    await this.database.write((tx) => reconcile(tx, tree, entry, now, now + this.options.delayMs));
  }
}
