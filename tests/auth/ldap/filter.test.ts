import { describe, expect, test } from "bun:test";
import { readElement } from "../../../src/auth/ldap/ber.ts";
import { encodeFilter, escapeFilterValue, FilterError, fillFilter } from "../../../src/auth/ldap/filter.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("RFC 4515 escaping of user input", () => {
  test("the five special characters and control characters become \\XX; other text stays", () => {
    expect(escapeFilterValue("a*b(c)d\\e\0f")).toBe("a\\2ab\\28c\\29d\\5ce\\00f");
    expect(escapeFilterValue("zoë.müller")).toBe("zoë.müller");
    expect(escapeFilterValue("\n\x7f")).toBe("\\0a\\7f");
  });

  test("a filled filter holds an injection attempt as one literal value", () => {
    const filter = fillFilter("(&(objectClass=person)(uid={user}))", { user: "*)(uid=*" });
    expect(filter).toBe("(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))");
    // the second part of the AND is one equality match (a3) of uid with the literal bytes
    expect(hex(encodeFilter(filter)).endsWith("a30f040375696404082a29287569643d2a")).toBe(true);
  });

  test("placeholders are replaced once: a value holding {dn} stays literal", () => {
    expect(fillFilter("(member={dn})", { dn: "{user}", user: "x" })).toBe("(member={user})");
  });
});

describe("filters compile to RFC 4511 BER", () => {
  test("equality, presence, substrings, and/or/not, comparisons, extensible match", () => {
    expect(hex(encodeFilter("(uid=a)"))).toBe("a30804037569640401" + "61");
    expect(hex(encodeFilter("(cn=*)"))).toBe("87026" + "36e");
    expect(hex(encodeFilter("(cn=a*b*c)"))).toBe("a40f0402636e30098001618101628201" + "63");
    expect(hex(encodeFilter("(!(a=b))"))).toBe("a208a306040161040162");
    const and = encodeFilter("(&(a=b)(|(c=d)(e>=5)(f<=6)(g~=h)))");
    expect(and[0]).toBe(0xa0);
    expect(readElement(and)?.end).toBe(and.length);
    // Active Directory's bitwise test: userAccountControl:1.2.840.113556.1.4.803:=2
    expect(hex(encodeFilter("(userAccountControl:1.2.840.113556.1.4.803:=2)"))).toBe(
      "a92f" + "8116" + Buffer.from("1.2.840.113556.1.4.803").toString("hex") + "8212" + Buffer.from("userAccountControl").toString("hex") + "830132",
    );
    expect(hex(encodeFilter("(a=\\2a)"))).toBe("a306040161040" + "12a");
  });

  test("malformed filters are refused with a reason", () => {
    for (const bad of ["uid=a", "(uid=a", "(uid=a))", "(&)", "(=a)", "(uid=a(b)", "(uid=\\zz)", "(a=b)(c=d)", "((a=b))"]) {
      expect(() => encodeFilter(bad)).toThrow(FilterError);
    }
    expect(() => encodeFilter("(".repeat(40) + "a=b" + ")".repeat(40))).toThrow(FilterError);
  });
});
