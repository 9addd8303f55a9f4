/**
 * The hashing thread: keeps one running SHA-256 per upload so that the main thread only
 * reads the body and writes it to disk while the hash is computed alongside.
 *
 * `hashWorkerMain` runs inside the worker. It is started from its own source text (see
 * HashPool), which works the same from sources and from the compiled binary, so it must use
 * only globals: no imports, no outer variables.
 */
import type { HashReply, HashRequest } from "./hash-pool.ts";

export function hashWorkerMain(): void {
  const scope = self as unknown as Worker;
  const hashers = new Map<string, Bun.CryptoHasher>();
  const reply = (message: HashReply) => scope.postMessage(message);
  scope.onmessage = (event: MessageEvent<HashRequest>) => {
    const request = event.data;
    if (request.op === "update") {
      let hasher = hashers.get(request.key);
      if (!hasher) {
        hasher = new Bun.CryptoHasher("sha256");
        hashers.set(request.key, hasher);
      }
      let bytes = 0;
      for (const chunk of request.chunks) {
        hasher.update(chunk);
        bytes += chunk.byteLength;
      }
      reply({ op: "ack", key: request.key, bytes });
    } else if (request.op === "digest") {
      const hasher = hashers.get(request.key) ?? new Bun.CryptoHasher("sha256");
      hashers.delete(request.key);
      reply({ op: "digest", key: request.key, hex: hasher.digest("hex") });
    } else {
      hashers.delete(request.key);
    }
  };
}
