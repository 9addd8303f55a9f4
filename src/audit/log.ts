/**
 * The audit log: one JSON line per change or security event (audit/http.ts says which requests
 * are), with who, from where, what, the result and the request id. Written to `[audit] path`
 * (0600), rotated by size to path.1 … path.<keep>; the last lines are also kept in memory, so
 * GET /api/v1/audit answers without a file. Nothing given to it carries a secret: callers pass
 * names, paths without query strings, digests and counts, never headers or bodies.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import type { AuditFields } from "../hooks/types.ts";
import type { Logger } from "../log.ts";

export interface AuditEntry {
  time: string;
  action: string;
  actor: string;
  addr: string;
  request_id: string;
  result: "ok" | "denied" | "failed";
  repository?: string;
  [field: string]: unknown;
}

export interface AuditQuery {
  /** entries at or after this time */
  since?: Date;
  actor?: string;
  repository?: string;
  limit: number;
}

export interface AuditSettings {
  /** "" keeps the recent lines in memory only */
  path: string;
  maxBytes: number;
  keep: number;
}

const MEMORY_LINES = 1000;

export class AuditLog {
  private fd: number | null = null;
  private size = 0;
  private readonly recent: AuditEntry[] = [];

  constructor(
    private readonly settings: AuditSettings,
    private readonly log: Logger,
  ) {
    if (settings.path !== "") this.open();
  }

  /** Records one event; a write that fails is logged and the request it describes is not affected. */
  record(action: string, who: { actor: string; addr: string; requestId: string }, result: AuditEntry["result"], fields: AuditFields = {}): void {
    const entry: AuditEntry = { time: new Date().toISOString(), action, actor: who.actor, addr: who.addr, request_id: who.requestId, result, ...fields };
    this.recent.push(entry);
    if (this.recent.length > MEMORY_LINES) this.recent.shift();
    if (this.fd === null) return;
    const line = Buffer.from(JSON.stringify(entry) + "\n");
    try {
      if (this.size > 0 && this.size + line.byteLength > this.settings.maxBytes) this.rotate();
      if (this.fd === null) return;
      writeSync(this.fd, line);
      this.size += line.byteLength;
    } catch (error) {
      this.log("error", "audit log write failed", { path: this.settings.path, error: String(error) });
    }
  }

  /** The newest `limit` entries that match, oldest first: from the files when there are, else from memory. */
  query(query: AuditQuery): AuditEntry[] {
    const entries = this.fd === null ? this.recent : this.fromFiles();
    const since = query.since?.getTime();
    const matching = entries.filter(
      (entry) =>
        (since === undefined || Date.parse(entry.time) >= since) &&
        (query.actor === undefined || entry.actor === query.actor) &&
        (query.repository === undefined || entry.repository === query.repository),
    );
    return matching.slice(-query.limit);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    this.fd = openSync(this.settings.path, "a", 0o600);
    this.size = fstatSync(this.fd).size;
  }

  /** path.(n-1) -> path.n, …, path -> path.1; the oldest beyond `keep` goes. */
  private rotate(): void {
    const { path, keep } = this.settings;
    this.close();
    if (keep === 0) rmSync(path, { force: true });
    else {
      rmSync(`${path}.${keep}`, { force: true });
      for (let n = keep - 1; n >= 1; n--) if (existsSync(`${path}.${n}`)) renameSync(`${path}.${n}`, `${path}.${n + 1}`);
      renameSync(path, `${path}.1`);
    }
    this.open();
  }

  private fromFiles(): AuditEntry[] {
    const { path, keep } = this.settings;
    const files = [...Array.from({ length: keep }, (_, i) => `${path}.${keep - i}`), path];
    const entries: AuditEntry[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch {
        continue; // not rotated that far yet
      }
      for (const line of text.split("\n")) {
        const entry = parseEntry(line);
        if (entry) entries.push(entry);
      }
    }
    return entries;
  }
}

function parseEntry(line: string): AuditEntry | null {
  if (line === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null; // a line cut by a crash
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const fields: Record<string, unknown> = Object.fromEntries(Object.entries(value));
  const text = (name: string) => (typeof fields[name] === "string" ? fields[name] : "");
  const result = fields.result === "denied" || fields.result === "failed" ? fields.result : "ok";
  const entry: AuditEntry = { ...fields, time: text("time"), action: text("action"), actor: text("actor"), addr: text("addr"), request_id: text("request_id"), result };
  if (typeof fields.repository === "string") entry.repository = fields.repository;
  else delete entry.repository;
  return entry;
}
