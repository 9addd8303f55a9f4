/** PEM blocks (keys, certificates, CA bundles) and the base64 forms signatures come in. */

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** Every `-----BEGIN X-----` block of `text`, in order; text between blocks is ignored. */
export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  const pattern = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const match of text.matchAll(pattern)) {
    const der = base64Bytes((match[2] ?? "").replace(/\s+/g, ""));
    if (der) blocks.push({ label: match[1] ?? "", der });
  }
  return blocks;
}

/** Standard or URL-safe base64, padded or not; null when it is not base64. */
export function base64Bytes(value: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value) || value.replace(/=+$/, "").length % 4 === 1) return null;
  const standard = value.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  return Uint8Array.from(atob(standard + "=".repeat((4 - (standard.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}
