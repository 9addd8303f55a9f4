/**
 * A small reader of ASN.1 DER, enough for X.509 certificates, SubjectPublicKeyInfo and ECDSA
 * signatures. Every length is checked against its parent; indefinite lengths (BER) are refused.
 */

/** The input is not the DER this reader expects. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

/** One element: its tag and where its header and content lie in `bytes`. */
export interface DerNode {
  tag: number;
  bytes: Uint8Array;
  start: number;
  contentStart: number;
  end: number;
}

/** The element at `offset`, within `limit`. @throws DerError */
export function readNode(bytes: Uint8Array, offset = 0, limit = bytes.length): DerNode {
  if (offset + 2 > limit) throw new DerError("truncated element");
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte tags are not supported");
  let length = bytes[offset + 1] as number;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new DerError("unsupported length encoding");
    if (contentStart + count > limit) throw new DerError("truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[contentStart + i] as number);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError("element runs past its parent");
  return { tag, bytes, start: offset, contentStart, end };
}

/** A whole input that must be exactly one element. @throws DerError */
export function parseDer(bytes: Uint8Array): DerNode {
  const node = readNode(bytes);
  if (node.end !== bytes.length) throw new DerError("trailing bytes after the element");
  return node;
}

/** The elements inside a constructed element. @throws DerError */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError(`tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let offset = node.contentStart;
  while (offset < node.end) {
    const child = readNode(node.bytes, offset, node.end);
    out.push(child);
    offset = child.end;
  }
  return out;
}

/** Children of a SEQUENCE (or another tag), checked. @throws DerError */
export function expectChildren(node: DerNode, tag: number = TAG.sequence): DerNode[] {
  if (node.tag !== tag) throw new DerError(`expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`);
  return children(node);
}

export function content(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.contentStart, node.end);
}

/** The element with its header, as signed (a certificate's TBS part). */
export function encoded(node: DerNode): Uint8Array {
  return node.bytes.subarray(node.start, node.end);
}

export function at(nodes: DerNode[], index: number): DerNode {
  const node = nodes[index];
  if (!node) throw new DerError(`missing element ${index}`);
  return node;
}

/** An OBJECT IDENTIFIER in dotted form. @throws DerError */
export function oid(node: DerNode): string {
  if (node.tag !== TAG.oid) throw new DerError("expected an object identifier");
  const data = content(node);
  if (data.length === 0) throw new DerError("empty object identifier");
  const parts: number[] = [];
  let value = 0;
  for (const byte of data) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError("object identifier component too large");
    if ((byte & 0x80) === 0) {
      if (parts.length === 0) parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/** The bits of a BIT STRING with no unused bits (keys and signatures). @throws DerError */
export function bitString(node: DerNode): Uint8Array {
  if (node.tag !== TAG.bitString) throw new DerError("expected a bit string");
  const data = content(node);
  if (data[0] !== 0) throw new DerError("bit string with unused bits");
  return data.subarray(1);
}

/** A non-negative INTEGER's magnitude, without sign padding. @throws DerError */
export function unsignedInteger(node: DerNode): Uint8Array {
  if (node.tag !== TAG.integer) throw new DerError("expected an integer");
  const data = content(node);
  if (data.length === 0) throw new DerError("empty integer");
  if ((data[0] as number) & 0x80) throw new DerError("negative integer");
  if (data.length > 1 && data[0] === 0 && ((data[1] as number) & 0x80) === 0) throw new DerError("integer not minimally encoded");
  return data[0] === 0 && data.length > 1 ? data.subarray(1) : data;
}

/** A string element (UTF8String, PrintableString, IA5String and the like) as text. */
export function text(node: DerNode): string {
  return new TextDecoder().decode(content(node));
}

/** UTCTime or GeneralizedTime (seconds, "Z"). @throws DerError */
export function time(node: DerNode): Date {
  const value = text(node);
  const utc = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const general = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const parts = node.tag === TAG.utcTime ? utc : node.tag === TAG.generalizedTime ? general : null;
  if (!parts) throw new DerError(`unsupported time "${value.slice(0, 20)}"`);
  const [, y, mo, d, h, mi, s] = parts.map(Number) as [number, number, number, number, number, number, number];
  const year = node.tag === TAG.utcTime ? (y >= 50 ? 1900 + y : 2000 + y) : y;
  return new Date(Date.UTC(year, mo - 1, d, h, mi, s));
}
