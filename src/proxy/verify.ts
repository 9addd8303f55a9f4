/**
 * A stream that passes an upstream blob through while hashing it and holds back its last chunk
 * until the digest is checked: a wrong blob ends in an error, so neither the client nor the
 * store ever receives all of it (the store's upload then fails and keeps nothing).
 */
import { type Digest, formatDigest } from "../oci/digest.ts";

export class UpstreamDigestMismatch extends Error {
  constructor(expected: Digest, actual: string) {
    super(`upstream sent ${expected.algorithm}:${actual} for ${formatDigest(expected)}`);
  }
}

/** `onVerified`: told the blob's length once its digest is checked */
export function verifyingStream(expected: Digest, onMismatch: (error: UpstreamDigestMismatch) => void, onVerified: (bytes: number) => void = () => undefined): TransformStream<Uint8Array, Uint8Array> {
  const hasher = new Bun.CryptoHasher(expected.algorithm);
  let held: Uint8Array | null = null;
  let bytes = 0;
  return new TransformStream({
    transform(chunk, controller) {
      hasher.update(chunk);
      bytes += chunk.byteLength;
      if (held !== null) controller.enqueue(held);
      held = chunk;
    },
    flush(controller) {
      const actual = hasher.digest("hex");
      if (actual !== expected.hex) {
        const error = new UpstreamDigestMismatch(expected, actual);
        onMismatch(error);
        controller.error(error);
        return;
      }
      if (held !== null) controller.enqueue(held);
      onVerified(bytes);
    },
  });
}
