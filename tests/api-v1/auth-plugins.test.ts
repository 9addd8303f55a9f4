/**
 * The read API and repository deletes on the real binary with authentication on: each caller
 * sees the repositories they may pull, per-repository routes answer as /v2/ does, usage and
 * deletes are for admins; a delete empties the tree and announces one event per manifest by
 * the admin; a plugin may veto it, and plugins read the same facts through ctx.registry.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type AuthBerth, basicHeader, fetchToken, pushTestImage, send, sha256, startAuthBerth, writeHtpasswd } from "../helpers/auth.ts";
import { withServerLog } from "../helpers/server.ts";

const CONFIG = `
[auth]
htpasswd = "htpasswd"
admins = ["root"]

[[access]]
repositories = ["team/**"]
users = ["bob"]
actions = ["pull"]

[[plugins]]
path = "facts-probe.ts"
`;

/** Records delete events, refuses deleting manifests of protected/*, and serves what ctx.registry reads. */
const PROBE_PLUGIN = `
import { appendFileSync } from "node:fs";
import { join } from "node:path";

export default {
  name: "facts-probe",
  setup(ctx) {
    const file = join(ctx.dataDir, "deletes.jsonl");
    ctx.before("manifest.delete", (context) => {
      if (context.repository.startsWith("protected/")) ctx.deny("protected repositories keep their manifests");
    });
    ctx.on("delete", (event) => {
      appendFileSync(file, JSON.stringify({ repository: event.target.repository, digest: event.target.digest, actor: event.actor.name }) + "\\n");
    }, { durable: true });
    ctx.route("GET", "/api/probe/facts", async (_request, { url }) => {
      const repo = url.searchParams.get("repo") ?? "";
      const digest = url.searchParams.get("digest") ?? "";
      return Response.json({
        repository: await ctx.registry.repositoryFacts(repo),
        tags: await ctx.registry.tagFacts(repo),
        manifest: await ctx.registry.manifestFacts(repo, digest),
        usage: await ctx.registry.usage(),
        missing: await ctx.registry.repositoryFacts("no/such"),
        badName: await ctx.registry.tagFacts("Bad Name"),
        badDigest: await ctx.registry.manifestFacts(repo, "sha256:zz"),
      });
    });
  },
};
`;

const ROOT = { Authorization: basicHeader("root", "root-pw") };
const BOB = { Authorization: basicHeader("bob", "bob-pw") };

type Json = Record<string, unknown>;
const parsed = (text: string): Json => JSON.parse(text) as Json;
const listed = (text: string) => (parsed(text).repositories as Json[]).map((r) => r.name);
const errorCode = (text: string) => (parsed(text).errors as Json[])[0]?.code;

describe("the read API with authentication on", () => {
  let berth: AuthBerth | undefined;
  const b = () => berth as AuthBerth;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 60_000);
  const images: Record<string, string> = {};

  beforeAll(async () => {
    berth = await startAuthBerth({
      config: CONFIG,
      prepare: async (root) => {
        await writeHtpasswd(join(root, "htpasswd"), [
          { name: "root", password: "root-pw", algorithm: "bcrypt" },
          { name: "bob", password: "bob-pw", algorithm: "bcrypt" },
        ]);
        writeFileSync(join(root, "facts-probe.ts"), PROBE_PLUGIN);
      },
    });
    for (const repo of ["team/app", "other/app"]) {
      const pushed = await pushTestImage(b(), repo, "v1", ROOT);
      expect(pushed.status).toBe(201);
      images[repo] = pushed.image.digest;
    }
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("the list holds what the caller may pull; anonymous callers are challenged", async () => {
    const all = await send(b(), "/api/v1/repositories", { headers: ROOT });
    expect(all.status).toBe(200);
    expect(listed(all.text)).toEqual(["other/app", "team/app"]);
    const mine = await send(b(), "/api/v1/repositories", { headers: BOB });
    expect(mine.status).toBe(200);
    expect(listed(mine.text)).toEqual(["team/app"]);
    expect(parsed(mine.text).total).toBe(1);
    const anonymous = await send(b(), "/api/v1/repositories");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("Bearer realm=");
    expect(errorCode(anonymous.text)).toBe("UNAUTHORIZED");

    // a token lists only with the catalog's scope, as /v2/_catalog does
    const catalogToken = await fetchToken(b(), ["registry:catalog:*"], { user: "bob", password: "bob-pw" });
    const byToken = await send(b(), "/api/v1/repositories", { headers: { Authorization: `Bearer ${catalogToken.token}` } });
    expect(listed(byToken.text)).toEqual(["team/app"]);
    const pullToken = await fetchToken(b(), ["repository:team/app:pull"], { user: "bob", password: "bob-pw" });
    const narrow = await send(b(), "/api/v1/repositories", { headers: { Authorization: `Bearer ${pullToken.token}` } });
    expect(narrow.status).toBe(401);
    expect(narrow.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    const tags = await send(b(), "/api/v1/repositories/team/app/tags", { headers: { Authorization: `Bearer ${pullToken.token}` } });
    expect(tags.status).toBe(200);
  });

  logged("repository routes answer as a pull on /v2/ would; usage and other /api/ routes are for admins", async () => {
    const tags = await send(b(), "/api/v1/repositories/team/app/tags", { headers: BOB });
    expect(tags.status).toBe(200);
    expect((parsed(tags.text).tags as Json[]).map((t) => t.name)).toEqual(["v1"]);
    expect((await send(b(), `/api/v1/repositories/team/app/manifests/${images["team/app"]}`, { headers: BOB })).status).toBe(200);
    expect((await send(b(), "/api/v1/repositories/team/app", { headers: BOB })).status).toBe(200);
    for (const path of ["/api/v1/repositories/other/app/tags", `/api/v1/repositories/other/app/manifests/${images["other/app"]}`, "/api/v1/repositories/other/app", "/api/v1/repositories/other/nope/tags"]) {
      const refused = await send(b(), path, { headers: BOB });
      expect(refused.status).toBe(403);
      expect(errorCode(refused.text)).toBe("DENIED");
      expect((await send(b(), path)).status).toBe(401);
    }
    // where bob may pull, an unknown repository is reported as such
    expect(errorCode((await send(b(), "/api/v1/repositories/team/nope/tags", { headers: BOB })).text)).toBe("NAME_UNKNOWN");

    expect((await send(b(), "/api/v1/usage", { headers: BOB })).status).toBe(403);
    expect((await send(b(), "/api/v1/usage")).status).toBe(401);
    const usage = await send(b(), "/api/v1/usage", { headers: ROOT });
    expect(usage.status).toBe(200);
    expect((parsed(usage.text).repositories as Json[]).map((r) => r.name).sort()).toEqual(["other/app", "team/app"]);
    expect((await send(b(), "/api/v1/gc", { headers: BOB })).status).toBe(403);
    expect((await send(b(), "/api/probe/facts?repo=team/app", { headers: BOB })).status).toBe(403);
  });

  logged("plugins read the same facts through ctx.registry", async () => {
    const digest = images["team/app"] ?? "";
    const probe = await send(b(), `/api/probe/facts?repo=team/app&digest=${digest}`, { headers: ROOT });
    expect(probe.status).toBe(200);
    const facts = parsed(probe.text);
    const repository = parsed((await send(b(), "/api/v1/repositories/team/app", { headers: ROOT })).text);
    expect(facts.repository).toEqual({ name: "team/app", tags: 1, manifests: 1, size: repository.size, pushedAt: repository.pushed_at, pulledAt: repository.pulled_at });
    const tag = (parsed((await send(b(), "/api/v1/repositories/team/app/tags", { headers: ROOT })).text).tags as Json[])[0] ?? {};
    expect(facts.tags).toEqual([{
      name: "v1", digest, mediaType: tag.media_type, size: tag.size, platforms: tag.platforms, pushedAt: tag.pushed_at, pulledAt: tag.pulled_at, pullCount: tag.pull_count,
    }]);
    const manifest = parsed((await send(b(), `/api/v1/repositories/team/app/manifests/${digest}`, { headers: ROOT })).text);
    expect(facts.manifest).toMatchObject({ digest, totalSize: manifest.total_size, layers: [{ digest: (manifest.layers as Json[])[0]?.digest, size: (manifest.layers as Json[])[0]?.size }], tags: ["v1"] });
    const usage = parsed((await send(b(), "/api/v1/usage", { headers: ROOT })).text);
    expect(facts.usage).toMatchObject({ storedBytes: usage.stored_bytes, referencedBytes: usage.referenced_bytes, repositories: usage.repositories });
    expect(facts.missing).toBeNull();
    expect(facts.badName).toBeNull();
    expect(facts.badDigest).toBeNull();
  });

  logged("an admin deletes a repository: tree emptied, catalog updated, blobs queued, one delete event per manifest; others may not", async () => {
    const first = await pushTestImage(b(), "del/app", "v1", ROOT);
    const second = await pushTestImage(b(), "del/app", "v2", ROOT);
    expect((await send(b(), "/api/v1/repositories/del/app", { method: "DELETE", headers: BOB })).status).toBe(403);
    expect((await send(b(), "/api/v1/repositories/team/app", { method: "DELETE", headers: BOB })).status).toBe(403);
    expect((await send(b(), "/api/v1/repositories/del/app", { method: "DELETE" })).status).toBe(401);
    const tree = join(b().root, "data/docker/registry/v2/repositories/del/app");
    expect(existsSync(tree)).toBe(true);

    const deleted = await send(b(), "/api/v1/repositories/del/app", { method: "DELETE", headers: ROOT });
    expect(deleted.status).toBe(202);
    expect(parsed(deleted.text)).toEqual({ name: "del/app", manifests: 2, tags: 2, blobs_queued: 6 });
    expect(existsSync(tree)).toBe(false);
    const catalog = parsed((await send(b(), "/v2/_catalog", { headers: ROOT })).text);
    expect(catalog.repositories).toEqual(["other/app", "team/app"]);
    const own = [first.image, second.image].flatMap((image) => [image.digest, sha256(image.config), sha256(image.layer)]);
    const gc = parsed((await send(b(), "/api/v1/gc", { headers: ROOT })).text);
    expect((gc.waiting as Json[]).map((w) => w.digest).filter((d) => own.includes(String(d))).sort()).toEqual([...own].sort());

    const events = readFileSync(join(b().root, "data/berth/plugins/facts-probe/deletes.jsonl"), "utf8").trim().split("\n").map((line) => parsed(line));
    expect(events.filter((e) => e.repository === "del/app").sort((x, y) => String(x.digest).localeCompare(String(y.digest)))).toEqual(
      [first.image.digest, second.image.digest].sort().map((digest) => ({ repository: "del/app", digest, actor: "root" })),
    );
  });

  logged("a plugin refusing manifest.delete for one manifest refuses the whole repository delete", async () => {
    const pushed = await pushTestImage(b(), "protected/app", "v1", ROOT);
    expect(pushed.status).toBe(201);
    const refused = await send(b(), "/api/v1/repositories/protected/app", { method: "DELETE", headers: ROOT });
    expect(refused.status).toBe(403);
    expect(errorCode(refused.text)).toBe("DENIED");
    expect(refused.text).toContain("protected repositories keep their manifests");
    expect(existsSync(join(b().root, "data/docker/registry/v2/repositories/protected/app/_manifests"))).toBe(true);
    const tags = await send(b(), "/api/v1/repositories/protected/app/tags", { headers: ROOT });
    expect((parsed(tags.text).tags as Json[]).map((t) => t.name)).toEqual(["v1"]);
  });
});
