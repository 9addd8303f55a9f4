/**
 * The bytes a replayed push sends: layer blobs cut from a random pool generated once per run
 * (each blob starts with its own random nonce and at its own offset, so every blob and every
 * run has new digests, and no big blob is generated inside the timed phase), an image config
 * padded to the recorded size, and a manifest of the recorded media type.
 */
import { randomBytes, randomFillSync } from "node:crypto";

const NONCE_BYTES = 32;

/** Random bytes shared by every blob of a run (its size bounds the piece size). */
export function randomPool(bytes: number): Buffer {
  const pool = Buffer.allocUnsafe(bytes);
  randomFillSync(pool);
  return pool;
}

/** A blob's bytes, handed out in pieces and hashed as they go. */
export interface ByteSource {
  take(n: number): Uint8Array;
  /** "sha256:<hex>" of everything taken so far */
  digest(): string;
  /** the same bytes from the start (to learn a digest before sending, when a flow asks for it first) */
  replica(): ByteSource;
}

/**
 * A layer: views of the pool where possible (no copy), a fresh buffer for the first piece (it
 * holds the nonce) and where the pool wraps. The nonce also picks the starting offset.
 */
export class PoolSource implements ByteSource {
  private offset: number;
  private taken = 0;
  private readonly hasher = new Bun.CryptoHasher("sha256");

  constructor(
    private readonly pool: Buffer,
    private readonly nonce: Buffer = randomBytes(NONCE_BYTES),
  ) {
    this.offset = nonce.readUInt32LE(0) % Math.max(1, pool.length);
  }

  replica(): ByteSource {
    return new PoolSource(this.pool, this.nonce);
  }

  take(n: number): Uint8Array {
    let piece: Uint8Array;
    if (this.taken < this.nonce.length || this.offset + n > this.pool.length) {
      const copy = Buffer.allocUnsafe(n);
      for (let filled = 0; filled < n; ) {
        if (this.offset >= this.pool.length) this.offset = 0;
        const part = Math.min(n - filled, this.pool.length - this.offset);
        this.pool.copy(copy, filled, this.offset, this.offset + part);
        this.offset += part;
        filled += part;
      }
      if (this.taken < this.nonce.length) this.nonce.copy(copy, 0, this.taken, Math.min(this.nonce.length, this.taken + n));
      piece = copy;
    } else {
      piece = this.pool.subarray(this.offset, this.offset + n);
      this.offset += n;
    }
    this.taken += n;
    this.hasher.update(piece);
    return piece;
  }

  digest(): string {
    return `sha256:${this.hasher.copy().digest("hex")}`;
  }
}

/** In-memory bytes (the config). */
export class FixedSource implements ByteSource {
  private position = 0;
  private readonly hasher = new Bun.CryptoHasher("sha256");

  constructor(private readonly bytes: Buffer) {}

  replica(): ByteSource {
    return new FixedSource(this.bytes);
  }

  take(n: number): Uint8Array {
    const piece = this.bytes.subarray(this.position, this.position + n);
    this.position += n;
    this.hasher.update(piece);
    return piece;
  }

  digest(): string {
    return `sha256:${this.hasher.copy().digest("hex")}`;
  }
}

export interface PushedBlob {
  digest: string;
  size: number;
}

/** A docker image config naming `layers`, padded with a random comment to `size` bytes when it is smaller. */
export function imageConfig(layers: readonly PushedBlob[], size: number): Buffer {
  const base = {
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/busybox", "sh"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    comment: "",
  };
  const bare = Buffer.byteLength(JSON.stringify(base));
  const nonce = randomBytes(16).toString("hex");
  base.comment = (nonce + "x".repeat(Math.max(0, size - bare - nonce.length))).slice(0, Math.max(nonce.length, size - bare));
  return Buffer.from(JSON.stringify(base));
}

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

/** The manifest as docker writes it (3-space indent) for `mediaType`, docker's or OCI's. */
export function imageManifest(mediaType: string, config: PushedBlob, layers: readonly PushedBlob[]): Buffer {
  const docker = mediaType === DOCKER_MANIFEST;
  const manifest = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json", size: config.size, digest: config.digest },
    layers: layers.map((l) => ({
      mediaType: docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : "application/vnd.oci.image.layer.v1.tar+gzip",
      size: l.size,
      digest: l.digest,
    })),
  };
  return Buffer.from(JSON.stringify(manifest, null, 3));
}
