/**
 * What a signing policy costs a pull: manifest GET by tag at 64 connections (or the most
 * configured) against Berth with `[[signing.policies]]` in mode "off" and in mode "enforce",
 * the image signed with cosign's tag scheme by a key the policy trusts. After the warm-up the
 * verdict is cached, so the enforce row measures the cached check (the issue asks for at least
 * 0.8x of off). Berth only: Distribution has no signing policy.
 */
import { describe, OCI_CONFIG, OCI_MANIFEST, oneLayerImage, pushImage, type RegistryClient } from "../oci.ts";
import { rawLoad } from "../rawload.ts";
import { runPhase } from "../measure.ts";
import type { GroupContext, WorkloadGroup } from "./common.ts";
import { REQUEST_METRICS, withServer } from "./common.ts";
import { load, MAX_REQUESTS, type Row } from "./manifest.ts";

const REPO = "prod/bench";
const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";

function pem(der: ArrayBuffer): string {
  return `-----BEGIN PUBLIC KEY-----\n${Buffer.from(der).toString("base64")}\n-----END PUBLIC KEY-----\n`;
}

/** r||s as the DER ECDSA-Sig-Value cosign writes. */
function toDer(raw: Uint8Array): Uint8Array {
  const integer = (part: Uint8Array) => {
    let start = 0;
    while (start < part.length - 1 && part[start] === 0) start++;
    const body = part.subarray(start);
    const padded = (body[0] as number) & 0x80 ? [0, ...body] : [...body];
    return [0x02, padded.length, ...padded];
  };
  const parts = [...integer(raw.subarray(0, 32)), ...integer(raw.subarray(32))];
  return Uint8Array.of(0x30, parts.length, ...parts);
}

/** Signs `digest` in REPO with cosign's tag scheme: `sha256-<hex>.sig`, one simple-signing layer. */
async function sign(ctx: GroupContext, client: RegistryClient, key: CryptoKey, digest: string): Promise<void> {
  const payload = JSON.stringify({ critical: { identity: { "docker-reference": `bench.local/${REPO}` }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" }, optional: null });
  const signature = toDer(new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(payload))));
  const layer = describe(payload, SIMPLE_SIGNING);
  await client.pushMonolithic(REPO, payload, layer.digest);
  const config = JSON.stringify({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [layer.digest] } });
  const configDesc = describe(config, OCI_CONFIG);
  await client.pushMonolithic(REPO, config, configDesc.digest);
  const annotations = { "dev.cosignproject.cosign/signature": Buffer.from(signature).toString("base64") };
  const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: [{ ...layer, annotations }] });
  await client.putManifest(REPO, `${digest.replace(":", "-")}.sig`, manifest);
  ctx.log(`  signed ${REPO}@${digest}`);
}

export const signing: WorkloadGroup = {
  name: "signing",
  title: "Manifest GET under a signing policy",
  async run(ctx) {
    if (ctx.target !== "berth" && ctx.target !== "baseline") return;
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const publicPem = pem(await crypto.subtle.exportKey("spki", pair.publicKey));
    const connections = ctx.config.manifestConcurrency.includes(64) ? 64 : Math.max(...ctx.config.manifestConcurrency);
    const row: Row = { method: "GET", refKind: "tag", connections };
    for (const mode of ["off", "enforce"] as const) {
      const files = { "registry.toml": `[[signing.policies]]\nrepositories = ["prod/**"]\nmode = "${mode}"\nkeys = ["ci.pub"]\n`, "ci.pub": publicPem };
      await withServer(ctx, async (server, client) => {
        const layer = ctx.data.blob(1024, 0);
        await pushImage(client, REPO, "latest", layer, "monolithic", 0);
        const digest = describe(oneLayerImage(REPO, "latest", layer).manifest, OCI_MANIFEST).digest;
        await sign(ctx, client, pair.privateKey, digest);
        // 200 in both modes once signed (a refusal would throw here)
        const bodyBytes = new TextEncoder().encode(await client.getManifest(REPO, "latest")).byteLength;
        const url = `${server.url}/v2/${REPO}/manifests/latest`;
        if (ctx.config.warmupSec > 0) {
          await rawLoad({ url, method: "GET", headers: { Accept: OCI_MANIFEST }, connections, durationSec: ctx.config.warmupSec, maxRequests: MAX_REQUESTS });
        }
        const measurement = await runPhase(server.pid, () => load(ctx, url, row, ctx.config.manifestDurationSec, bodyBytes));
        ctx.record(
          {
            id: `signing-manifest-get-tag-c${connections}-${mode}`,
            label: `manifest GET by tag, ${connections} conn, signing ${mode}`,
            op: `one GET /v2/<name>/manifests/<tag> (keep-alive) under [[signing.policies]] mode "${mode}", the image signed (cosign tag scheme) by the trusted key; verdict cached after the warm-up`,
            metrics: REQUEST_METRICS,
            comparable: false,
          },
          measurement,
        );
      }, files);
    }
  },
};
