/**
 * The whole on-disk layout in one place. It is CNCF Distribution's, exactly, so that
 * Distribution can serve Berth's data and Berth can serve Distribution's:
 *
 *   docker/registry/v2/
 *     blobs/<alg>/<first 2 hex>/<hex>/data                     blob and manifest bytes
 *     repositories/<name>/
 *       _layers/<alg>/<hex>/link                               blob linked into the repo
 *       _manifests/revisions/<alg>/<hex>/link                  manifest in the repo
 *       _manifests/tags/<tag>/current/link                     what the tag points at
 *       _manifests/tags/<tag>/index/<alg>/<hex>/link           every digest the tag had
 *       _uploads/<id>/data, startedat                          upload in progress
 *   berth/                                                     Berth's own state, rebuildable
 *     referrers/<name>/_subjects/<subject alg>/<subject hex>/<alg>/<hex>
 *                                                              a referrer's descriptor (JSON)
 *     referrers/<name>/_built                                  the repository's index is complete
 *     lock                                                     the serving process's PID (flock)
 *     auth/token-key.jwk, plugins/<name>/                      token key, plugins' state
 *
 * Each link file holds a digest string ("sha256:..."). Names, tags and digests are validated
 * before they reach these functions, so no path can leave the root.
 */
import type { Digest } from "../oci/digest.ts";

const V2 = "docker/registry/v2";
const BERTH = "berth";

/** Berth's own state (under berth/), which is kept private: see modes.ts. */
export function isBerthState(path: string): boolean {
  return path === BERTH || path.startsWith(`${BERTH}/`);
}

export const paths = {
  blobData: (d: Digest) => `${V2}/blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}/data`,
  blobsRoot: () => `${V2}/blobs`,
  blobDir: (d: Digest) => `${V2}/blobs/${d.algorithm}/${d.hex.slice(0, 2)}/${d.hex}`,
  repositoriesRoot: () => `${V2}/repositories`,
  repository: (name: string) => `${V2}/repositories/${name}`,
  layerLink: (name: string, d: Digest) => `${V2}/repositories/${name}/_layers/${d.algorithm}/${d.hex}/link`,
  layerLinkDir: (name: string, d: Digest) => `${V2}/repositories/${name}/_layers/${d.algorithm}/${d.hex}`,
  manifestsRoot: (name: string) => `${V2}/repositories/${name}/_manifests`,
  manifestRevisionsRoot: (name: string) => `${V2}/repositories/${name}/_manifests/revisions`,
  manifestRevisionLink: (name: string, d: Digest) =>
    `${V2}/repositories/${name}/_manifests/revisions/${d.algorithm}/${d.hex}/link`,
  manifestRevisionDir: (name: string, d: Digest) =>
    `${V2}/repositories/${name}/_manifests/revisions/${d.algorithm}/${d.hex}`,
  tagsRoot: (name: string) => `${V2}/repositories/${name}/_manifests/tags`,
  tagDir: (name: string, tag: string) => `${V2}/repositories/${name}/_manifests/tags/${tag}`,
  tagCurrentLink: (name: string, tag: string) => `${V2}/repositories/${name}/_manifests/tags/${tag}/current/link`,
  tagIndexLink: (name: string, tag: string, d: Digest) =>
    `${V2}/repositories/${name}/_manifests/tags/${tag}/index/${d.algorithm}/${d.hex}/link`,
  uploadsRoot: (name: string) => `${V2}/repositories/${name}/_uploads`,
  uploadDir: (name: string, id: string) => `${V2}/repositories/${name}/_uploads/${id}`,
  uploadData: (name: string, id: string) => `${V2}/repositories/${name}/_uploads/${id}/data`,
  uploadStartedAt: (name: string, id: string) => `${V2}/repositories/${name}/_uploads/${id}/startedat`,
  // "_subjects" cannot clash with a nested repository: name components never start with "_".
  referrersOf: (name: string, subject: Digest) => `berth/referrers/${name}/_subjects/${subject.algorithm}/${subject.hex}`,
  referrer: (name: string, subject: Digest, d: Digest) =>
    `berth/referrers/${name}/_subjects/${subject.algorithm}/${subject.hex}/${d.algorithm}/${d.hex}`,
  referrersBuilt: (name: string) => `berth/referrers/${name}/_built`,
  /** every repository's referrers index (shared: copied by berth migrate) */
  referrersRoot: () => `berth/referrers`,
  healthProbe: () => `berth/healthz`,
  /** the token service's signing key (a private JWK): shared by every process serving this storage */
  tokenKey: () => `berth/auth/token-key.jwk`,
  /** the directory of the token key (shared, unlike the rest of berth/: copied by berth migrate) */
  tokenKeyRoot: () => `berth/auth`,
  berthRoot: () => BERTH,
  /** held (flock) by the one Berth process serving this root */
  rootLock: () => `berth/lock`,
  /** the unix socket on which that process answers the operator's commands (berth gc, ...) */
  adminSocket: () => `berth/admin.sock`,
};
