/**
 * The LDAPv3 messages Berth sends and reads (RFC 4511): BindRequest (simple), SearchRequest,
 * ExtendedRequest (StartTLS), UnbindRequest; LDAPResult-shaped responses and SearchResultEntry.
 */
import { type BerElement, BerError, children, constructed, expectElement, integer, octets, readInteger, readText, TAG, tlv, boolean } from "./ber.ts";

/** The protocol operations' application tags. */
export const OP = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  searchResultReference: 0x73,
  extendedRequest: 0x77,
  extendedResponse: 0x78,
} as const;

export const RESULT = {
  success: 0,
  sizeLimitExceeded: 4,
  invalidCredentials: 49,
} as const;

export const START_TLS_OID = "1.3.6.1.4.1.1466.20037";

/** LDAPMessage ::= SEQUENCE { messageID, protocolOp } */
export function message(id: number, op: Uint8Array): Uint8Array {
  return constructed(TAG.sequence, integer(id), op);
}

/** A simple bind: version 3, the DN and the password ([0] simple). */
export function bindRequest(dn: string, password: string): Uint8Array {
  return constructed(OP.bindRequest, integer(3), octets(dn), octets(password, 0x80));
}

export function unbindRequest(): Uint8Array {
  return tlv(OP.unbindRequest, new Uint8Array(0));
}

export function startTlsRequest(): Uint8Array {
  return constructed(OP.extendedRequest, octets(START_TLS_OID, 0x80));
}

export interface SearchParameters {
  base: string;
  /** BER of the filter (filter.ts) */
  filter: Uint8Array;
  attributes: string[];
  sizeLimit: number;
  timeLimitSeconds: number;
}

/** A whole-subtree search that never dereferences aliases. */
export function searchRequest(search: SearchParameters): Uint8Array {
  return constructed(
    OP.searchRequest,
    octets(search.base),
    integer(2, TAG.enumerated), // wholeSubtree
    integer(0, TAG.enumerated), // neverDerefAliases
    integer(search.sizeLimit),
    integer(search.timeLimitSeconds),
    boolean(false),
    search.filter,
    constructed(TAG.sequence, ...search.attributes.map((name) => octets(name))),
  );
}

/** One message read from the server: its id and its protocol operation. */
export interface LdapMessage {
  id: number;
  op: BerElement;
}

export function readMessage(element: BerElement): LdapMessage {
  if (element.tag !== TAG.sequence) throw new BerError("Malformed LDAP message: not a SEQUENCE");
  const parts = children(element.content);
  const id = readInteger(expectElement(parts, 0, TAG.integer, "a message id"));
  const op = parts[1];
  if (op === undefined) throw new BerError("Malformed LDAP message: no operation");
  return { id, op };
}

export interface LdapResult {
  code: number;
  diagnostic: string;
}

/** The LDAPResult at the start of a response's content (BindResponse, SearchResultDone, ExtendedResponse). */
export function readResult(op: BerElement): LdapResult {
  const parts = children(op.content);
  const code = readInteger(expectElement(parts, 0, TAG.enumerated, "a result code"));
  expectElement(parts, 1, TAG.octetString, "a matched DN");
  const diagnostic = readText(expectElement(parts, 2, TAG.octetString, "a diagnostic message"));
  return { code, diagnostic };
}

export interface SearchEntry {
  dn: string;
  /** attribute values by lower-cased attribute name */
  attributes: Map<string, string[]>;
}

export function readEntry(op: BerElement): SearchEntry {
  const parts = children(op.content);
  const dn = readText(expectElement(parts, 0, TAG.octetString, "an entry DN"));
  const attributes = new Map<string, string[]>();
  for (const attribute of children(expectElement(parts, 1, TAG.sequence, "the entry's attributes").content)) {
    const [type, values] = children(attribute.content);
    if (type === undefined || values === undefined) throw new BerError("Malformed LDAP message: bad attribute");
    attributes.set(readText(type).toLowerCase(), children(values.content).map(readText));
  }
  return { dn, attributes };
}
