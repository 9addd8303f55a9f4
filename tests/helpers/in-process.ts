/**
 * Berth in this test process: the same composition as `berth serve` (src/compose.ts) over the
 * in-memory driver, answering through `app.fetch(new Request(...))` with no socket. For the
 * many request/response cases; streaming, crashes, TLS and e2e keep the real binary.
 *
 * Requests reach it through `call()` (tests/helpers/oci.ts): its URL has a host no network
 * knows (`berth-N.in-process.test`), which local-apps.ts routes to the app.
 */
import { composeRegistry } from "../../src/compose.ts";
import { loadConfiguration } from "../../src/config/load.ts";
import type { Logger } from "../../src/log.ts";
import type { MetadataIndex } from "../../src/metadata/index.ts";
import { serveLocally, stopServingLocally } from "./local-apps.ts";
import { removeDir, tempDir } from "./server.ts";

export interface InProcessBerth {
  url: string;
  host: string;
  /** the local directory Berth keeps process state in (plugins' data); the images are in memory */
  root: string;
  output(): string;
  /** the metadata index, for tests that look at what it recorded */
  index: MetadataIndex;
  /** waits until the index holds the whole storage (the first start over a tree builds it) */
  indexBuilt: Promise<void>;
  stop(): Promise<void>;
}

export interface InProcessOptions {
  /** BERTH_* variables, exactly as a real process would read them */
  env?: Record<string, string>;
  /** a storage root of the caller's (kept on stop); a fresh temp dir, removed on stop, otherwise */
  root?: string;
}

let started = 0;

export async function startInProcess(options: InProcessOptions = {}): Promise<InProcessBerth> {
  const root = options.root ?? tempDir("berth-in-process-");
  const lines: string[] = [];
  const log: Logger = (level, message, fields = {}) => {
    lines.push(`${level.toUpperCase()} ${message} ${JSON.stringify(fields)}\n`);
  };
  const env = { BERTH_STORAGE_DRIVER: "inmemory", BERTH_STORAGE_ROOT: root, ...options.env };
  const loaded = loadConfiguration({ env, cwd: root });
  const host = `berth-${++started}.in-process.test`;
  const composed = await composeRegistry({ loaded, log, instanceAddr: () => host });
  const { app } = await composed.buildApp(loaded, false);
  const origin = `http://${host}`;
  serveLocally(origin, (request) => app.fetch(request));
  return {
    url: origin,
    host,
    root,
    output: () => lines.join(""),
    index: composed.index,
    indexBuilt: composed.indexBuilt,
    async stop() {
      stopServingLocally(origin);
      await composed.close();
      if (options.root === undefined) removeDir(root);
    },
  };
}
