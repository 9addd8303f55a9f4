/** The signing plugin's parts on their own: DER and ECDSA encodings, certificates, the policy section, payload names. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadSigningPolicies, SigningConfigError } from "../../../plugins/signing/config.ts";
import { DerError } from "../../../plugins/signing/der.ts";
import { derToP1363, PublicKey } from "../../../plugins/signing/keys.ts";
import { pemBlocks } from "../../../plugins/signing/pem.ts";
import { repositoryOf } from "../../../plugins/signing/payload.ts";
import { parseCertificate } from "../../../plugins/signing/x509.ts";
import { utf8 } from "../../helpers/oci.ts";
import { removeDir, tempDir } from "../../helpers/server.ts";
import { derOf, makeCertificate, makeKey, p1363ToDer, signRaw, type TestCertificate } from "./keys.ts";

let dir = "";
let certificate: TestCertificate;

beforeAll(async () => {
  dir = tempDir("berth-signing-units-");
  certificate = await makeCertificate(dir, "unit", "ecdsa-p256", { uri: "https://ci.example.com/unit", email: "unit@example.com" });
});
afterAll(() => removeDir(dir));

describe("ECDSA signatures", () => {
  test("a DER signature verifies once converted; the same bytes in P1363 form do not", async () => {
    const key = await makeKey();
    const publicKey = PublicKey.fromSpki(pemBlocks(key.publicPem)[0]?.der ?? new Uint8Array(), "test");
    const data = utf8("payload");
    const raw = await signRaw(key, data);
    const [scheme] = publicKey.defaultSchemes("der");
    if (!scheme) throw new Error("no scheme for an ECDSA key");
    expect(await publicKey.verify(scheme, p1363ToDer(raw), data)).toBe(true);
    expect(await publicKey.verify(scheme, raw, data)).toBe(false);
    expect(await publicKey.verify(scheme, p1363ToDer(raw), utf8("payloae"))).toBe(false);
  });

  test("derToP1363 pads short integers and refuses trailing bytes, oversized and negative integers", () => {
    const short = Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07);
    expect(Array.from(derToP1363(short, 2) ?? [])).toEqual([0, 5, 0, 7]);
    expect(derToP1363(Uint8Array.of(...short, 0), 2)).toBeNull();
    expect(derToP1363(Uint8Array.of(0x30, 0x08, 0x02, 0x03, 1, 2, 3, 0x02, 0x01, 7), 2)).toBeNull();
    expect(derToP1363(Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x85, 0x02, 0x01, 0x07), 2)).toBeNull();
  });
});

describe("certificates", () => {
  test("an openssl leaf: subject, SAN email and URI, validity, not a CA; its CA is one", () => {
    const leaf = parseCertificate(derOf(certificate.leafPem));
    expect(leaf.subject).toBe("O=Example, CN=unit");
    expect(leaf.issuer).toBe("CN=unit test CA");
    expect(leaf.emails).toEqual(["unit@example.com"]);
    expect(leaf.uris).toEqual(["https://ci.example.com/unit"]);
    expect(leaf.isCa).toBe(false);
    expect(leaf.notBefore.getTime()).toBeLessThan(leaf.notAfter.getTime());
    expect(leaf.scheme).toEqual({ alg: "ecdsa", hash: "SHA-256", encoding: "der" });
    const ca = parseCertificate(derOf(certificate.caPem));
    expect(ca.isCa).toBe(true);
    expect(ca.cannotSignCertificates).toBe(false);
  });

  test("the leaf's signature verifies with its CA's key, not with its own", async () => {
    const leaf = parseCertificate(derOf(certificate.leafPem));
    const ca = parseCertificate(derOf(certificate.caPem));
    if (!leaf.scheme) throw new Error("unknown signature algorithm");
    expect(await ca.publicKey.verify(leaf.scheme, leaf.signature, leaf.tbs)).toBe(true);
    expect(await leaf.publicKey.verify(leaf.scheme, leaf.signature, leaf.tbs)).toBe(false);
  });

  test("a truncated certificate is refused with a DerError", () => {
    expect(() => parseCertificate(derOf(certificate.leafPem).subarray(0, 100))).toThrow(DerError);
  });
});

describe("[signing] section", () => {
  test("a policy in enforce mode with nothing to trust names its key", () => {
    expect(() => loadSigningPolicies({ policies: [{ repositories: ["prod/**"] }] })).toThrow(SigningConfigError);
    expect(() => loadSigningPolicies({ policies: [{ repositories: ["prod/**"] }] })).toThrow('"signing.policies[0].keys"');
  });

  test("a missing key file, a file with no public key, and an unknown key are refused by name", () => {
    writeFileSync(join(dir, "empty.pub"), "not a key\n");
    expect(() => loadSigningPolicies({ policies: [{ repositories: ["a"], keys: [join(dir, "missing.pub")] }] })).toThrow(/signing\.policies\[0\]\.keys\[0\].*ENOENT/);
    expect(() => loadSigningPolicies({ policies: [{ repositories: ["a"], keys: [join(dir, "empty.pub")] }] })).toThrow("holds no PEM PUBLIC KEY block");
    expect(() => loadSigningPolicies({ policies: [{ repositories: ["a"], mode: "block" }] })).toThrow('"signing.policies[0].mode"');
    expect(() => loadSigningPolicies({ policies: [{ repositories: ["a"], mode: "off", colour: "red" }] })).toThrow('Unknown config key "signing.policies[0].colour"');
  });

  test("a valid section: the first matching policy applies; off needs no keys", async () => {
    const key = await makeKey("ed25519");
    writeFileSync(join(dir, "ed.pub"), key.publicPem);
    const policies = loadSigningPolicies({ policies: [{ repositories: ["prod/legacy/*"], mode: "off" }, { repositories: ["prod/**"], keys: [join(dir, "ed.pub")], roots: [join(dir, "unit-ca.pem")] }] });
    expect(policies.map((p) => [p.label, p.mode, p.keys.length, p.roots.length])).toEqual([["prod/legacy/*", "off", 0, 0], ["prod/**", "enforce", 1, 1]]);
    expect(policies[1]?.keys[0]?.kind).toBe("ed25519");
  });
});

test.each([
  ["registry.example.com/prod/app:v1", "prod/app"],
  ["127.0.0.1:5000/prod/app", "prod/app"],
  ["localhost/app@sha256:abc", "app"],
  ["prod/app:v1", "prod/app"],
  ["app", "app"],
])("the repository of docker-reference %s is %s", (reference, repository) => {
  expect(repositoryOf(reference)).toBe(repository);
});
