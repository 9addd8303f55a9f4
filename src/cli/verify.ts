/**
 * `berth verify REPO@DIGEST|REPO:TAG`: asks the signing plugin's route
 * (GET /api/v1/repositories/<name>/manifests/<reference>/signatures), on the running server's
 * admin socket or in this process, and prints each signature found and why it counts or not.
 * Exit code 0 only when the policy is satisfied; 1 when it is not; 2 when it cannot tell.
 */
import { loadConfiguration } from "../config/load.ts";
import { adminCall } from "./admin-call.ts";
import { ServerRefused } from "./server-client.ts";

export const VERIFY_HELP = `Usage: berth verify REPOSITORY@DIGEST|REPOSITORY:TAG [--json] [--config FILE]

Verifies the manifest's signatures (cosign, sigstore bundle, Notation) against the
[[signing.policies]] of the configuration and prints each one found: its format, the key or
certificate identity it verified with, or why it does not count. --json prints the API's
answer as is. Exit code 0 when the policy is satisfied (or no policy applies), 1 when it is
not, 2 when the manifest or the policies cannot be read. Needs no running server; when one
holds the storage root it is asked through its admin socket.`;

interface Report {
  repository: string;
  digest: string;
  policy: string | null;
  mode: string;
  state: string;
  satisfied: boolean;
  signer: string;
  index: string | null;
  signatures: Array<{ format: string; manifest: string; via: string; layer: number; verified: boolean; signer: string; reason: string }>;
}

const NO_POLICIES = "no [[signing.policies]] in the configuration: signing is off";

/** @returns the exit code */
export async function verifyCommand(args: string[], configFile: string | undefined): Promise<number> {
  const json = args.includes("--json");
  const rest = args.filter((arg) => arg !== "--json");
  const [target, ...extra] = rest;
  if (target === undefined || target.startsWith("-") || extra.length > 0) return usage("berth verify takes one REPOSITORY@DIGEST or REPOSITORY:TAG (see berth verify --help)");
  const parsed = parseTarget(target);
  if (!parsed) return usage(`"${target}" names no tag or digest: write REPOSITORY@sha256:… or REPOSITORY:TAG`);
  let body: unknown;
  try {
    // without a policy the plugin is not running: its route would be some other route's 404
    const { signing } = loadConfiguration(configFile === undefined ? {} : { path: configFile }).resolved;
    if (!Array.isArray(signing.policies) || signing.policies.length === 0) return usage(NO_POLICIES);
    body = await adminCall(configFile, "GET", `/api/v1/repositories/${parsed.repository}/manifests/${encodeURIComponent(parsed.reference)}/signatures`);
  } catch (error) {
    if (error instanceof ServerRefused && error.code === "NOT_FOUND") return usage(NO_POLICIES);
    return usage(error instanceof ServerRefused ? error.detail || error.message : error instanceof Error ? error.message : String(error));
  }
  const report = asReport(body);
  if (!report) return usage(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
  process.stdout.write(json ? `${JSON.stringify(body, null, 2)}\n` : describe(report));
  return report.satisfied ? 0 : 1;
}

function usage(message: string): number {
  process.stderr.write(`berth: ${message}\n`);
  return 2;
}

/** `name@digest` or `name:tag` (a colon after the last slash: `host:5000/name` has none). */
export function parseTarget(target: string): { repository: string; reference: string } | null {
  const at = target.indexOf("@");
  if (at > 0) return { repository: target.slice(0, at), reference: target.slice(at + 1) };
  const colon = target.lastIndexOf(":");
  if (colon > target.lastIndexOf("/") && colon > 0) return { repository: target.slice(0, colon), reference: target.slice(colon + 1) };
  return null;
}

function describe(report: Report): string {
  const policy = report.policy === null ? "no policy" : `policy ${report.policy}, ${report.mode}`;
  const verdict = report.satisfied
    ? report.state === "verified-by-index"
      ? `satisfied: the index ${report.index ?? ""} is signed (${report.signer})`
      : report.state === "verified" ? `satisfied: verified by ${report.signer}` : "satisfied: no signature required"
    : `NOT satisfied: ${report.state === "unsigned" ? "no signature found" : "no signature verifies"}`;
  const lines = [`${report.repository}@${report.digest} (${policy}): ${verdict}`];
  if (report.signatures.length === 0 && report.policy !== null) lines.push("  no signatures found (tag sha256-<hex>.sig, or referrers)");
  for (const s of report.signatures) {
    const outcome = s.verified ? `verified by ${s.signer}` : `refused: ${s.reason}${s.signer === "" ? "" : ` (signed by ${s.signer})`}`;
    lines.push(`  ${s.format.padEnd(15)} ${s.via.padEnd(8)} ${s.manifest} layer ${s.layer}: ${outcome}`);
  }
  return `${lines.join("\n")}\n`;
}

function asReport(body: unknown): Report | null {
  if (typeof body !== "object" || body === null) return null;
  const b = body as Record<string, unknown>;
  const strings = ["repository", "digest", "mode", "state", "signer"].every((key) => typeof b[key] === "string");
  if (!strings || typeof b.satisfied !== "boolean" || !Array.isArray(b.signatures)) return null;
  const signatures = b.signatures.flatMap((entry: unknown) => {
    if (typeof entry !== "object" || entry === null) return [];
    const s = entry as Record<string, unknown>;
    const text = (key: string) => (typeof s[key] === "string" ? s[key] : "");
    return [{ format: text("format"), manifest: text("manifest"), via: text("via"), layer: typeof s.layer === "number" ? s.layer : 0, verified: s.verified === true, signer: text("signer"), reason: text("reason") }];
  });
  const text = (key: string) => String(b[key]);
  return {
    repository: text("repository"),
    digest: text("digest"),
    policy: typeof b.policy === "string" ? b.policy : null,
    mode: text("mode"),
    state: text("state"),
    satisfied: b.satisfied,
    signer: text("signer"),
    index: typeof b.index === "string" ? b.index : null,
    signatures,
  };
}
