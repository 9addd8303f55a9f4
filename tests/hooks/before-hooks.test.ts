/**
 * Before-hooks from an operator's plugin file, against a real Berth: a denial refuses a push
 * (and stores nothing) or a pull; a hook that throws or is too slow follows its failure mode,
 * set per hook or by [hooks] on_failure, within [hooks] timeout or its own timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { removeDir, repoRoot, startBerth, tempDir, withServerLog, type BerthProcess } from "../helpers/server.ts";
import { getManifest, prepareImage, putManifest, tagsOf, writeConfig } from "../plugins/webhook/support.ts";

/** Slow hooks sleep this long; the hook time limits are far shorter. */
const SLOW_MS = 1_500;

const POLICY_PLUGIN = `
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BeforeHookContext, PluginContext, RegistryPlugin } from ${JSON.stringify(join(repoRoot, "src/hooks/types.ts"))};

const inRepo = (prefix: string) => (c: BeforeHookContext) => c.repository.startsWith(prefix + "/");

export default function createPlugin(options: Record<string, unknown>): RegistryPlugin {
  const deniedTag = String(options.denied_tag);
  return {
    name: "policy",
    setup(ctx: PluginContext) {
      ctx.before("manifest.put", (c) => {
        if (c.tag === deniedTag) ctx.deny("Tag " + c.tag + " may not be pushed");
      });
      ctx.before("manifest.get", (c) => {
        if (inRepo("secret")(c)) ctx.deny("Repository " + c.repository + " may not be pulled");
      });
      // failures: a hook that throws, one that is too slow; each acts only on its own repositories
      ctx.before("manifest.put", (c) => {
        if (inRepo("throws-deny")(c)) throw new Error("policy service unreachable");
      });
      ctx.before("manifest.put", (c) => {
        if (inRepo("throws-allow")(c)) throw new Error("policy service unreachable");
      }, { onFailure: "allow" });
      // the slow ones leave a mark when they finally finish: a response before it did not wait
      const slow = (name: string) => async (c: BeforeHookContext) => {
        if (!inRepo(name)(c)) return;
        await Bun.sleep(${SLOW_MS});
        writeFileSync(join(ctx.dataDir, name + ".finished"), "");
      };
      ctx.before("manifest.put", slow("slow-deny"));
      ctx.before("manifest.put", slow("slow-allow"), { onFailure: "allow" });
      ctx.before("manifest.put", async (c) => {
        if (inRepo("slow-own-limit")(c)) await Bun.sleep(150);
      }, { timeoutMs: 50 });
    },
  };
}
`;

interface ErrorBody {
  errors: Array<{ code: string; message: string }>;
}

describe("before-hooks from a plugin file", () => {
  let berth: BerthProcess | undefined;
  let dir = "";
  const logs = () => [berth];
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(logs, body), 30_000);

  beforeAll(
    withServerLog(logs, async () => {
      dir = tempDir("berth-hooks-");
      writeFileSync(join(dir, "policy.ts"), POLICY_PLUGIN);
      const config = writeConfig(dir, {
        head: '[hooks]\ntimeout = "200ms"\non_failure = "deny"\n',
        plugins: [{ path: "policy.ts", denied_tag: "forbidden" }],
      });
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
    }),
    30_000,
  );

  afterAll(async () => {
    await berth?.stop();
    if (dir) removeDir(dir);
  });

  function base(): string {
    if (!berth) throw new Error("beforeAll did not finish");
    return berth.url;
  }

  async function denied(res: Response): Promise<string> {
    expect(res.status).toBe(403);
    const body = (await res.json()) as ErrorBody;
    expect(body.errors[0]?.code).toBe("DENIED");
    return body.errors[0]?.message ?? "";
  }

  /** PUT with the time it took. */
  async function timedPut(repo: string, tag: string): Promise<{ res: Response; ms: number }> {
    const image = await prepareImage(base(), repo);
    const started = performance.now();
    const res = await fetch(`${base()}/v2/${repo}/manifests/${tag}`, {
      method: "PUT",
      body: image.manifest,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    return { res, ms: performance.now() - started };
  }

  logged("a denied push answers 403 DENIED with the plugin's message and stores nothing", async () => {
    const allowed = await prepareImage(base(), "app");
    await putManifest(base(), "app", "ok", allowed.manifest);
    const image = await prepareImage(base(), "app", "never stored");
    const res = await fetch(`${base()}/v2/app/manifests/forbidden`, {
      method: "PUT",
      body: image.manifest,
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(await denied(res)).toBe("Tag forbidden may not be pushed");
    expect((await getManifest(base(), "app", image.digest, "HEAD")).status).toBe(404);
    expect((await getManifest(base(), "app", "forbidden", "HEAD")).status).toBe(404);
    expect(await tagsOf(base(), "app")).toEqual(["ok"]);
  });

  logged("a denied pull answers 403 DENIED to GET and HEAD; the push itself was allowed", async () => {
    const image = await prepareImage(base(), "secret/app");
    await putManifest(base(), "secret/app", "v1", image.manifest);
    expect(await tagsOf(base(), "secret/app")).toEqual(["v1"]);
    expect(await denied(await fetch(`${base()}/v2/secret/app/manifests/v1`))).toBe("Repository secret/app may not be pulled");
    expect((await getManifest(base(), "secret/app", image.digest, "HEAD")).status).toBe(403);
    expect((await getManifest(base(), "app", "ok")).status).toBe(200);
  });

  logged("a hook that throws denies under on_failure = deny and lets the push through under allow", async () => {
    const deny = await timedPut("throws-deny/app", "v1");
    expect(await denied(deny.res)).toContain("Plugin policy could not check this request (policy service unreachable)");
    expect(await tagsOf(base(), "throws-deny/app")).toEqual([]);
    const allow = await timedPut("throws-allow/app", "v1");
    expect(allow.res.status).toBe(201);
    expect(await tagsOf(base(), "throws-allow/app")).toEqual(["v1"]);
  });

  logged("a hook slower than [hooks] timeout = 200ms denies or allows by its failure mode, without waiting for it", async () => {
    const finished = (name: string) => existsSync(join(dir, "berth/plugins/policy", `${name}.finished`));
    const deny = await timedPut("slow-deny/app", "v1");
    expect(finished("slow-deny")).toBe(false); // answered before the hook was done
    expect(await denied(deny.res)).toContain("timed out after 200 ms");
    const allow = await timedPut("slow-allow/app", "v1");
    expect(finished("slow-allow")).toBe(false);
    expect(allow.res.status).toBe(201);
    expect(await tagsOf(base(), "slow-deny/app")).toEqual([]);
    expect(await tagsOf(base(), "slow-allow/app")).toEqual(["v1"]);
  });

  logged("a hook's own timeoutMs overrides [hooks] timeout", async () => {
    const { res } = await timedPut("slow-own-limit/app", "v1");
    expect(await denied(res)).toContain("timed out after 50 ms");
  });
});
