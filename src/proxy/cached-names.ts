/**
 * Which repositories hold content fetched from an upstream, with the upstream's URL: the UI
 * marks them, and in registry-mirrors mode (`prefix = ""`) a cached name is still revalidated
 * while a repository someone pushed is served as local. Kept in `berth/proxy/repositories.json`
 * (rebuildable: losing it only makes "" mode treat cached names as local until pulled again).
 */
import { PathNotFoundError, type StorageDriver } from "../storage/driver.ts";

const FILE = "berth/proxy/repositories.json";

export class CachedNames {
  private names: Map<string, string> | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly driver: StorageDriver) {}

  /** The upstream a repository was filled from, or undefined for a local one. */
  async upstreamOf(repository: string): Promise<string | undefined> {
    return (await this.load()).get(repository);
  }

  async all(): Promise<ReadonlyMap<string, string>> {
    return this.load();
  }

  async add(repository: string, upstream: string): Promise<void> {
    const names = await this.load();
    if (names.get(repository) === upstream) return;
    names.set(repository, upstream);
    const content = JSON.stringify(Object.fromEntries(names));
    const write = this.writing.then(() => this.driver.putContent(FILE, content));
    this.writing = write.catch(() => undefined);
    await write;
  }

  private async load(): Promise<Map<string, string>> {
    if (this.names) return this.names;
    let loaded = new Map<string, string>();
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(await this.driver.getContent(FILE)));
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        loaded = new Map(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
      }
    } catch (error) {
      if (!(error instanceof PathNotFoundError) && !(error instanceof SyntaxError)) throw error;
    }
    this.names ??= loaded;
    return this.names;
  }
}
