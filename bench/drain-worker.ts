/**
 * A worker thread that downloads blobs with rawGet and reports the byte count: a second
 * client core for pulls whose single-threaded client would otherwise be the limit.
 * Messages in: { id, repo, digest, base }; out: { id, bytes } or { id, error }.
 */
import { RegistryClient } from "./oci.ts";

declare const self: Worker;

interface DrainRequest {
  id: number;
  base: string;
  repo: string;
  digest: string;
}

function isDrainRequest(value: unknown): value is DrainRequest {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.id === "number" && typeof v.base === "string" && typeof v.repo === "string" && typeof v.digest === "string";
}

self.onmessage = (event: MessageEvent) => {
  const request: unknown = event.data;
  if (!isDrainRequest(request)) return;
  new RegistryClient(request.base).drainBlob(request.repo, request.digest).then(
    (bytes) => self.postMessage({ id: request.id, bytes }),
    (error: unknown) => self.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
};
