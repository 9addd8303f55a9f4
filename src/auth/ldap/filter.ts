/**
 * LDAP search filters: the string form of RFC 4515 (what operators write in `user_filter`
 * and `group_filter`), compiled to the BER form of RFC 4511 section 4.5.1.7.
 *
 * User input never reaches the parser raw: `fillFilter` escapes each value (RFC 4515 section 3:
 * `*`, `(`, `)`, `\`, NUL, and here every control character) before putting it in place of
 * its `{placeholder}`, so a user name such as `*)(uid=*` is a literal value that matches only
 * an entry with exactly that name.
 */
import { concat, constructed, octets, boolean } from "./ber.ts";

/** A filter that cannot be parsed; the message names the filter's problem. */
export class FilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FilterError";
  }
}

/** RFC 4515 escaping of an assertion value: `\` followed by two hex digits for each special byte. */
export function escapeFilterValue(value: string): string {
  // all special characters are ASCII, so other characters (UTF-8 text) stay as they are
  return value.replace(/[*()\\\x00-\x1f\x7f]/g, (char) => `\\${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `template` with each `{name}` replaced by the escaped value of `values[name]`; unknown placeholders stay. */
export function fillFilter(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z]+)\}/g, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : escapeFilterValue(value);
  });
}

const MAX_DEPTH = 32;

/** The BER encoding of a filter in string form. @throws FilterError naming the problem */
export function encodeFilter(text: string): Uint8Array {
  const parser = new FilterParser(text);
  const filter = parser.filter(0);
  if (parser.position !== text.length) throw new FilterError(`Unexpected text after the filter at position ${parser.position + 1}`);
  return filter;
}

class FilterParser {
  position = 0;

  constructor(private readonly text: string) {}

  filter(depth: number): Uint8Array {
    if (depth > MAX_DEPTH) throw new FilterError("Filter nested too deeply");
    this.expect("(");
    const char = this.text[this.position];
    let result: Uint8Array;
    if (char === "&" || char === "|") {
      this.position++;
      const parts: Uint8Array[] = [];
      while (this.text[this.position] === "(") parts.push(this.filter(depth + 1));
      if (parts.length === 0) throw new FilterError(`"${char}" needs at least one filter`);
      result = constructed(char === "&" ? 0xa0 : 0xa1, ...parts);
    } else if (char === "!") {
      this.position++;
      result = constructed(0xa2, this.filter(depth + 1));
    } else {
      result = this.item();
    }
    this.expect(")");
    return result;
  }

  /** attr=value, attr=*, attr=a*b*c, attr>=v, attr<=v, attr~=v, attr:dn:rule:=v */
  private item(): Uint8Array {
    const end = this.text.indexOf(")", this.position);
    if (end < 0) throw new FilterError("Missing )");
    const body = this.text.slice(this.position, end);
    this.position = end;
    const match = /^([^=<>~]*?)(:=|>=|<=|~=|=)(.*)$/s.exec(body);
    if (!match) throw new FilterError(`"${body}" is not an attribute assertion`);
    const [, attribute = "", operator, value = ""] = match;
    if (operator === ":=") return extensible(attribute, value);
    if (!/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$|^\d+(\.\d+)+$/.test(attribute)) throw new FilterError(`"${attribute}" is not an attribute name`);
    if (operator === ">=") return constructed(0xa5, octets(attribute), octets(unescape(value)));
    if (operator === "<=") return constructed(0xa6, octets(attribute), octets(unescape(value)));
    if (operator === "~=") return constructed(0xa8, octets(attribute), octets(unescape(value)));
    if (value === "*") return octets(attribute, 0x87);
    if (!value.includes("*")) return constructed(0xa3, octets(attribute), octets(unescape(value)));
    const pieces = value.split("*");
    const parts: Uint8Array[] = [];
    pieces.forEach((piece, index) => {
      if (piece === "") return;
      const tag = index === 0 ? 0x80 : index === pieces.length - 1 ? 0x82 : 0x81;
      parts.push(octets(unescape(piece), tag));
    });
    return constructed(0xa4, octets(attribute), constructed(0x30, ...parts));
  }

  private expect(char: string): void {
    if (this.text[this.position] !== char) throw new FilterError(`Expected "${char}" at position ${this.position + 1}`);
    this.position++;
  }
}

/** `[attr][:dn][:rule]:=value` (the text before ":=" was split off by the caller). */
function extensible(left: string, value: string): Uint8Array {
  const parts = left.split(":");
  const attribute = parts.shift() ?? "";
  let dn = false;
  let rule = "";
  for (const part of parts) {
    if (part.toLowerCase() === "dn") dn = true;
    else if (rule === "" && part !== "") rule = part;
    else throw new FilterError(`"${left}:=" is not an extensible match`);
  }
  if (attribute === "" && rule === "") throw new FilterError("An extensible match needs an attribute or a matching rule");
  return constructed(
    0xa9,
    ...(rule === "" ? [] : [octets(rule, 0x81)]),
    ...(attribute === "" ? [] : [octets(attribute, 0x82)]),
    octets(unescape(value), 0x83),
    ...(dn ? [boolean(true, 0x84)] : []),
  );
}

/** The bytes of an assertion value: `\XX` is the byte XX; an unescaped `(`, `)` or `*` is an error. */
function unescape(value: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  let literal = "";
  for (let i = 0; i < value.length; i++) {
    const char = value[i] as string;
    if (char === "\\") {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new FilterError(`Bad escape "\\${hex}" in a filter value`);
      parts.push(encoder.encode(literal), Uint8Array.of(parseInt(hex, 16)));
      literal = "";
      i += 2;
    } else if (char === "(" || char === ")" || char === "*") {
      throw new FilterError(`Unescaped "${char}" in a filter value`);
    } else {
      literal += char;
    }
  }
  parts.push(encoder.encode(literal));
  return concat(parts);
}
