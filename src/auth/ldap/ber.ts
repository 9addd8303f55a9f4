/**
 * The subset of ASN.1 BER that LDAPv3 (RFC 4511 section 5.1) uses: definite lengths only,
 * single-byte tags, INTEGER/ENUMERATED, OCTET STRING, BOOLEAN and constructed elements.
 * Encoding builds byte arrays; decoding reads one element at a time and never trusts a length
 * beyond the bytes it was given.
 */

/** One decoded element: its tag byte and the bytes of its content. */
export interface BerElement {
  tag: number;
  content: Uint8Array;
}

/** A message from the server that does not follow the protocol. */
export class BerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BerError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  enumerated: 0x0a,
  sequence: 0x30,
  set: 0x31,
} as const;

function encodeLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** tag, length, content */
export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const length = encodeLength(content.length);
  const out = new Uint8Array(1 + length.length + content.length);
  out[0] = tag;
  out.set(length, 1);
  out.set(content, 1 + length.length);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A constructed element (SEQUENCE by default) holding `children`. */
export function constructed(tag: number, ...children: Uint8Array[]): Uint8Array {
  return tlv(tag, concat(children));
}

/** INTEGER (or ENUMERATED with its tag), two's complement, shortest form; n must be a safe integer >= 0. */
export function integer(n: number, tag: number = TAG.integer): Uint8Array {
  const bytes: number[] = [];
  let rest = n;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(tag, Uint8Array.from(bytes));
}

export function octets(value: string | Uint8Array, tag: number = TAG.octetString): Uint8Array {
  return tlv(tag, typeof value === "string" ? encoder.encode(value) : value);
}

export function boolean(value: boolean, tag: number = TAG.boolean): Uint8Array {
  return tlv(tag, Uint8Array.of(value ? 0xff : 0));
}

/**
 * The element starting at `offset` and where the next one starts, or null when `bytes` does
 * not hold all of it yet (a stream still arriving).
 * @throws BerError for what is not BER as LDAP uses it (indefinite or absurd lengths)
 */
export function readElement(bytes: Uint8Array, offset = 0): { element: BerElement; end: number } | null {
  if (bytes.length < offset + 2) return null;
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new BerError("Multi-byte BER tags are not used by LDAP");
  let length = bytes[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new BerError("Indefinite BER lengths are not allowed in LDAP");
    if (count > 4) throw new BerError("BER length too large");
    if (bytes.length < start + count) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] as number);
    start += count;
  }
  const end = start + length;
  if (bytes.length < end) return null;
  return { element: { tag, content: bytes.subarray(start, end) }, end };
}

/** The elements of a constructed element's content. @throws BerError when they do not fill it exactly */
export function children(content: Uint8Array): BerElement[] {
  const out: BerElement[] = [];
  let offset = 0;
  while (offset < content.length) {
    const next = readElement(content, offset);
    if (next === null) throw new BerError("Truncated BER element");
    out.push(next.element);
    offset = next.end;
  }
  return out;
}

/** A non-negative INTEGER or ENUMERATED value. */
export function readInteger(element: BerElement): number {
  if (element.content.length === 0 || element.content.length > 6) throw new BerError("Bad BER integer");
  let value = 0;
  for (const byte of element.content) value = value * 256 + byte;
  if ((element.content[0] as number) & 0x80) value -= 2 ** (8 * element.content.length);
  return value;
}

export function readText(element: BerElement): string {
  return decoder.decode(element.content);
}

/** The element at `index`, with the tag expected there. @throws BerError otherwise */
export function expectElement(elements: BerElement[], index: number, tag: number, what: string): BerElement {
  const element = elements[index];
  if (element === undefined || element.tag !== tag) throw new BerError(`Malformed LDAP message: expected ${what}`);
  return element;
}
