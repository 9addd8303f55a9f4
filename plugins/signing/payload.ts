/**
 * What a verified signature says it signs: cosign's simple-signing payload (digest and
 * repository), an in-toto statement's subjects (sigstore DSSE bundles), Notation's target
 * artifact. Each check returns null when the payload names this manifest, else the reason.
 */
import type { Subject } from "./report.ts";

type Json = Record<string, unknown>;

function object(value: unknown): Json | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : null;
}

export function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** `{"critical":{"identity":{"docker-reference":…},"image":{"docker-manifest-digest":…},"type":…}}` */
export function checkCosignPayload(bytes: Uint8Array, subject: Subject): string | null {
  const critical = object(object(parseJson(bytes))?.critical);
  if (!critical) return "the payload is not a cosign simple-signing document";
  if (critical.type !== "cosign container image signature") return `the payload's type is ${JSON.stringify(critical.type)}, not "cosign container image signature"`;
  const digest = object(critical.image)?.["docker-manifest-digest"];
  if (digest !== subject.digest) return `the payload names ${typeof digest === "string" ? digest : "no digest"}, not this manifest`;
  const reference = object(critical.identity)?.["docker-reference"];
  if (typeof reference !== "string") return "the payload names no docker-reference";
  const repository = repositoryOf(reference);
  if (repository !== subject.repository) return `the payload names repository ${repository}, not ${subject.repository}`;
  return null;
}

/** An in-toto statement (v0.1 or v1) whose subjects include this manifest's sha256. */
export function checkInTotoStatement(bytes: Uint8Array, subject: Subject): string | null {
  const statement = object(parseJson(bytes));
  if (!statement || typeof statement._type !== "string" || !statement._type.startsWith("https://in-toto.io/Statement/")) return "the payload is not an in-toto statement";
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  const hex = subject.digest.slice("sha256:".length);
  const named = subjects.map(object).filter((entry) => object(entry?.digest)?.sha256 === hex);
  if (named.length === 0) return "the statement's subjects do not include this manifest";
  for (const entry of named) {
    if (typeof entry?.name !== "string" || entry.name === "") continue;
    const repository = repositoryOf(entry.name);
    if (repository !== subject.repository) return `the statement names repository ${repository}, not ${subject.repository}`;
  }
  return null;
}

/** `{"targetArtifact":{"digest":…}}` (application/vnd.cncf.notary.payload.v1+json). */
export function checkNotaryPayload(bytes: Uint8Array, subject: Subject): string | null {
  const target = object(object(parseJson(bytes))?.targetArtifact);
  if (!target) return "the payload names no targetArtifact";
  if (target.digest !== subject.digest) return `the payload names ${typeof target.digest === "string" ? target.digest : "no digest"}, not this manifest`;
  return null;
}

/**
 * The repository of `host/repo[:tag][@digest]`: the host and the tag or digest are dropped
 * (registries get renamed); a first component with a dot or colon, or "localhost", is a host.
 */
export function repositoryOf(reference: string): string {
  let name = reference.split("@")[0] ?? "";
  const lastSlash = name.lastIndexOf("/");
  const colon = name.indexOf(":", lastSlash + 1);
  if (colon >= 0) name = name.slice(0, colon);
  const [first, ...rest] = name.split("/");
  if (rest.length > 0 && first !== undefined && (first.includes(".") || first.includes(":") || first === "localhost")) return rest.join("/");
  return name;
}
