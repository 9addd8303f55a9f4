/**
 * `berth backup --out FILE|-`: a point-in-time tar of the registry (GET /api/v1/backup), asked
 * of the running server on its admin socket, or made in this process when none runs (the root
 * locked meanwhile). Progress goes to standard error. `berth restore FILE --root DIR` unpacks
 * one into an empty storage root; the next `berth serve` there builds the metadata index.
 */
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, renameSync, writeSync } from "node:fs";
import { dirname, join, normalize, resolve } from "node:path";
import { readTar } from "../backup/tar.ts";
import { composeRegistry } from "../compose.ts";
import { loadConfiguration } from "../config/load.ts";
import { createLogger } from "../log.ts";
import { lockStorageRoot, RootLockedError } from "../storage/root-lock.ts";
import { adminSocketPath } from "./admin-socket.ts";

export const BACKUP_HELP = `Usage:
  berth backup --out FILE|- [--config FILE]
  berth restore FILE|- --root DIR [--config FILE]

backup writes a tar of every repository's tags, manifests and blobs, in Distribution's
layout, as they were at one moment: every tag in it resolves to a manifest whose blobs are
in it. It runs while Berth serves (through the server's admin socket; GC waits meanwhile)
or on a stopped registry. "-" writes to standard output. Progress goes to standard error.

restore unpacks such a tar into DIR, which must be empty or absent, and builds the
metadata index there (SQLite under DIR/berth/). Serve DIR with [storage] root = DIR.`;

const MIB = 1024 * 1024;

export async function backupCommand(args: string[], configFile: string | undefined): Promise<void> {
  const outAt = args.indexOf("--out");
  const out = outAt < 0 ? undefined : args[outAt + 1];
  const rest = args.filter((_, i) => i !== outAt && i !== outAt + 1);
  if (out === undefined || out === "" || rest.length > 0) throw new Error("usage: berth backup --out FILE|- [--config FILE]");
  const loaded = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const { resolved } = loaded;
  let response: Response;
  let finish = async () => {};
  try {
    if (resolved.storage.driver !== "filesystem") throw new Error("berth backup reads a filesystem storage root; an in-memory registry has nothing to back up");
    lockStorageRoot(resolved.storage.root);
    const composed = await composeRegistry({ loaded, log: createLogger({ ...resolved.log, level: "warn" }), instanceAddr: () => "berth-cli" });
    await composed.indexBuilt;
    const { adminApp } = await composed.buildApp(loaded, false);
    response = await adminApp.fetch(new Request("http://berth/api/v1/backup"));
    finish = () => composed.close();
  } catch (error) {
    if (!(error instanceof RootLockedError)) throw error;
    const socket = adminSocketPath(resolved.storage.root);
    process.stderr.write(`berth: a server${error.pid === null ? "" : ` (PID ${error.pid})`} holds the storage root: asking it through ${socket}\n`);
    response = await fetch("http://berth/api/v1/backup", { unix: socket, timeout: false });
  }
  try {
    if (!response.ok || response.body === null) throw new Error(`the backup was refused: ${response.status} ${(await response.text()).slice(0, 300)}`);
    const total = Number(response.headers.get("berth-backup-bytes") ?? 0);
    const counts = ["repositories", "tags", "manifests", "blobs"].map((name) => `${response.headers.get(`berth-backup-${name}`) ?? "?"} ${name}`).join(", ");
    process.stderr.write(`berth: backup of ${counts} (${(total / MIB).toFixed(1)} MiB of blobs)\n`);
    const written = await writeOut(response.body, out, total);
    process.stderr.write(`berth: backup written: ${(written / MIB).toFixed(1)} MiB to ${out === "-" ? "standard output" : out}\n`);
  } finally {
    await finish();
  }
}

/** Streams the archive to FILE (through FILE.partial, renamed when complete) or standard output. */
async function writeOut(body: ReadableStream<Uint8Array>, out: string, total: number): Promise<number> {
  const toStdout = out === "-";
  const partial = `${out}.partial`;
  const fd = toStdout ? 1 : openSync(partial, "w", 0o600);
  let written = 0;
  let shown = Date.now();
  try {
    for await (const chunk of body) {
      let offset = 0;
      while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset);
      written += chunk.byteLength;
      if (Date.now() - shown > 1000) {
        shown = Date.now();
        process.stderr.write(`berth: ${(written / MIB).toFixed(1)} MiB written${total > 0 ? ` (${Math.min(100, Math.round((written / total) * 100))}% of the blobs' size)` : ""}\n`);
      }
    }
  } finally {
    if (!toStdout) closeSync(fd);
  }
  if (!toStdout) renameSync(partial, out);
  return written;
}

export async function restoreCommand(args: string[], configFile: string | undefined): Promise<void> {
  const rootAt = args.indexOf("--root");
  const root = rootAt < 0 ? undefined : args[rootAt + 1];
  const files = args.filter((_, i) => i !== rootAt && i !== rootAt + 1);
  if (root === undefined || root === "" || files.length !== 1) throw new Error("usage: berth restore FILE|- --root DIR");
  const file = files[0] as string;
  const target = resolve(root);
  if (existsSync(target) && readdirSync(target).length > 0) throw new Error(`${target} is not empty: restore into a new storage root`);
  mkdirSync(target, { recursive: true, mode: 0o750 });
  const input = file === "-" ? Bun.stdin.stream() : Bun.file(file).stream();
  let count = 0;
  let bytes = 0;
  await readTar(input, async (path, _size, read) => {
    const clean = normalize(path);
    // only Distribution's tree: nothing outside DIR, nothing of Berth's own state
    if (!clean.startsWith("docker/registry/v2/") || clean.includes("..")) throw new Error(`The archive names "${path.slice(0, 200)}", outside docker/registry/v2/: not a Berth backup`);
    const destination = join(target, clean);
    mkdirSync(dirname(destination), { recursive: true, mode: 0o750 });
    const stream = createWriteStream(destination, { mode: 0o640 });
    await read((chunk) => {
      bytes += chunk.byteLength;
      return new Promise<void>((done, fail) => stream.write(chunk, (error) => (error ? fail(error) : done())));
    });
    await new Promise<void>((done, fail) => stream.end((error?: Error | null) => (error ? fail(error) : done())));
    count++;
  });
  process.stderr.write(`berth: restored ${count} files (${(bytes / MIB).toFixed(1)} MiB) into ${target}; building the metadata index\n`);
  // the configuration's other keys (metadata.url excepted: the index goes beside the new root)
  const { resolved, file: config } = loadConfiguration(configFile === undefined ? {} : { path: configFile });
  const loaded = { file: config, resolved: { ...resolved, storage: { ...resolved.storage, driver: "filesystem" as const, root: target }, metadata: { ...resolved.metadata, url: "" }, plugins: [] } };
  lockStorageRoot(target);
  const composed = await composeRegistry({ loaded, log: createLogger({ ...resolved.log, level: "warn" }), instanceAddr: () => "berth-cli" });
  try {
    await composed.indexBuilt;
  } finally {
    await composed.close();
  }
  process.stderr.write(`berth: ${target} is ready: berth serve with [storage] root = "${target}"\n`);
}
