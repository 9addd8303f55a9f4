/**
 * Whether a manifest satisfies its policy, cached per repository: a pull that finds its
 * answer here awaits nothing. Any push or delete in a repository drops that repository's
 * answers (a new signature makes its image pullable at once); a reload drops them all.
 *
 * Replicas: a push through another replica drops nothing here, so answers there are kept
 * `maxAgeMs` at most (index.ts: 1 s with a shared database). Deciding again is cheap: verdicts
 * of signature manifests stay cached by the finder (they are immutable), only the lookups of
 * the signatures are made again.
 */
import type { PluginContext } from "../../src/hooks/types.ts";
import type { Policy } from "./config.ts";
import { isSignatureArtifact, type SignatureFinder } from "./find.ts";
import { parseJson } from "./payload.ts";
import type { SignatureReport } from "./report.ts";
import type { State, StateStore } from "./state.ts";

/** how many index levels above a manifest may vouch for it (an index of indexes) */
const MAX_INDEX_DEPTH = 2;
const MAX_PARENTS = 8;
const MAX_CACHED_REPOSITORIES = 10_000;

export interface Decision {
  repository: string;
  digest: string;
  state: State;
  /** a valid signature (or a signed index listing it), or a signature artifact itself */
  satisfied: boolean;
  signer: string;
  /** the signed index that vouches for it (state verified-by-index) */
  index: string | null;
  signatures: SignatureReport[];
}

interface Answer {
  decision: Promise<Decision | null>;
  /** when it was asked for (Date.now()) */
  at: number;
}

export interface DecisionsOptions {
  /** told of each verification made (not of cached answers): its state, e.g. "verified", "unsigned" */
  verified?: (state: string) => void;
  /** how long an answer is used (Infinity: until a push, a delete or a reload here drops it) */
  maxAgeMs?: number;
}

export class Decisions {
  private byRepository = new Map<string, Map<string, Answer>>();
  private readonly verified: (state: string) => void;
  private readonly maxAgeMs: number;

  constructor(
    private readonly registry: PluginContext["registry"],
    private readonly finder: SignatureFinder,
    private readonly store: StateStore,
    private readonly log: PluginContext["log"],
    options: DecisionsOptions = {},
  ) {
    this.verified = options.verified ?? (() => {});
    this.maxAgeMs = options.maxAgeMs ?? Infinity;
  }

  /** The cached answer, if any and young enough (the hot path of a pull). */
  cached(repository: string, digest: string): Promise<Decision | null> | undefined {
    const answer = this.byRepository.get(repository)?.get(digest);
    return answer && Date.now() - answer.at <= this.maxAgeMs ? answer.decision : undefined;
  }

  /** The decision for `digest` under `policy`: cached, or made once however many ask at once; null when the manifest is gone. */
  decide(repository: string, digest: string, policy: Policy, depth = 0): Promise<Decision | null> {
    const known = this.cached(repository, digest);
    if (known) return known;
    let answers = this.byRepository.get(repository);
    if (!answers) {
      if (this.byRepository.size >= MAX_CACHED_REPOSITORIES) this.byRepository = new Map();
      answers = new Map();
      this.byRepository.set(repository, answers);
    }
    const made = this.evaluate(repository, digest, policy, depth).then(async (decision) => {
      if (decision) await this.record(decision, policy);
      return decision;
    });
    const answer = { decision: made, at: Date.now() };
    answers.set(digest, answer);
    // a failure is not remembered
    made.catch(() => {
      if (answers.get(digest) === answer) answers.delete(digest);
    });
    return made;
  }

  /** A change in the repository (a signature pushed or deleted, a tag moved). */
  forgetRepository(repository: string): void {
    this.byRepository.delete(repository);
  }

  forgetManifest(repository: string, digest: string): void {
    this.byRepository.get(repository)?.delete(digest);
  }

  forgetAll(): void {
    this.byRepository = new Map();
  }

  private async evaluate(repository: string, digest: string, policy: Policy, depth: number): Promise<Decision | null> {
    const manifest = await this.registry.manifest(repository, digest);
    if (!manifest) return null;
    const base = { repository, digest, index: null, signatures: [] };
    if (isSignatureArtifact(parseJson(manifest.bytes))) return { ...base, state: "not-required", satisfied: true, signer: "" };
    const signatures = await this.finder.reports({ repository, digest, bytes: manifest.bytes }, policy);
    const valid = signatures.find((report) => report.verified);
    if (valid) return { ...base, signatures, state: "verified", satisfied: true, signer: valid.signer };
    if (depth < MAX_INDEX_DEPTH) {
      const facts = await this.registry.manifestFacts(repository, digest);
      for (const parent of (facts?.indexes ?? []).slice(0, MAX_PARENTS)) {
        const vouching = await this.decide(repository, parent, policy, depth + 1);
        if (vouching?.satisfied && vouching.state !== "not-required") {
          return { ...base, signatures, state: "verified-by-index", satisfied: true, signer: vouching.signer, index: parent };
        }
      }
    }
    return { ...base, signatures, state: signatures.length > 0 ? "invalid" : "unsigned", satisfied: false, signer: "" };
  }

  private async record(decision: Decision, policy: Policy): Promise<void> {
    this.verified(decision.state);
    try {
      await this.store.record(decision.repository, decision.digest, { state: decision.state, policy: policy.label, mode: policy.mode, signer: decision.signer });
    } catch (error) {
      this.log("error", "could not record a signature state", { repository: decision.repository, digest: decision.digest, error: String(error) });
    }
    if (!decision.satisfied && policy.mode === "warn") {
      this.log("warn", `${decision.repository}@${decision.digest} has no valid signature from a trusted key (policy ${policy.label}); served (warn mode)`, {
        repository: decision.repository,
        digest: decision.digest,
        state: decision.state,
      });
    }
  }
}

/** The 403 message of an enforced policy. */
export function denialMessage(decision: Pick<Decision, "repository" | "digest">, policy: Policy): string {
  return `${decision.repository}@${decision.digest} has no valid signature from a trusted key (policy ${policy.label})`;
}
