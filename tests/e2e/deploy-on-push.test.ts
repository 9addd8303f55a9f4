/**
 * The deploy-on-push example for real: Berth's signed webhook reaches
 * examples/deploy-on-push/receiver.ts, which pulls the pushed digest with docker and restarts
 * the container. v1 is deployed, then v2 replaces it; a forged or stale request is refused
 * with 401 and deploys nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { docker, ensureDocker, removeImage, staticBusybox } from "../helpers/docker.ts";
import { portOf, type ServerProcess, startServer } from "../helpers/process.ts";
import { berthEnv, removeDir, repoRoot, startBerth, tempDir, waitForOutput, withServerLog, type BerthProcess } from "../helpers/server.ts";
import { hmac, writeConfig } from "../plugins/webhook/support.ts";

const SECRET = "deploy-secret";
const REPOSITORY = "deploy/app";
const TAG = "prod";

interface ReceiverState {
  deployed: string | null;
  deployments: number;
  lastError: string | null;
}

describe("deploy-on-push example", () => {
  const nonce = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const container = `berth-deploy-${nonce}`;
  let berth: BerthProcess | undefined;
  let receiver: ServerProcess | undefined;
  let receiverUrl = "";
  const images: string[] = [];
  let dir = "";

  const logs = () => [berth, receiver];
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(logs, body), 120_000);

  /** Berth's configuration, with its one endpoint at `url`. */
  const configure = (url: string) =>
    writeConfig(dir, {
      endpoints: [
        {
          name: "deploy",
          url,
          secret: SECRET,
          actions: ["push"],
          repositories: [REPOSITORY],
          ignored_media_types: ["application/octet-stream"],
          retry: { backoff: "200ms", max_backoff: "1s" },
        },
      ],
    });

  beforeAll(
    withServerLog(logs, async () => {
      await ensureDocker();
      dir = tempDir("berth-deploy-e2e-");
      // Berth and the receiver each need the other's address, and each binds port 0: Berth starts
      // with the endpoint at a port nobody serves (discard), then reloads it with the receiver's.
      const config = configure("http://127.0.0.1:9/hook");
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
      receiver = await startServer({
        name: "the deploy-on-push receiver",
        cmd: [process.execPath, join(repoRoot, "examples/deploy-on-push/receiver.ts")],
        cwd: dir,
        env: berthEnv({ PORT: "0", HOST: "127.0.0.1", SECRET, REPOSITORY, TAG, REGISTRY: berth.host, CONTAINER: container }),
        boundPort: (output) => {
          const addr = /listening on (\S+)/.exec(output)?.[1];
          return addr === undefined ? undefined : portOf(addr);
        },
      });
      receiverUrl = `http://127.0.0.1:${receiver.port}`;
      configure(`${receiverUrl}/hook`);
      berth.proc.kill("SIGHUP");
      expect(await waitForOutput(berth, "configuration reloaded", 10_000)).toContain("configuration reloaded");
      expect(berth.output()).not.toContain("adding them needs a restart");
    }),
    60_000,
  );

  afterAll(async () => {
    await docker(["rm", "-f", container], { allowFailure: true, timeoutMs: 30_000 });
    for (const image of images) await removeImage(image).catch(() => undefined);
    await receiver?.stop();
    await berth?.stop();
    if (dir) removeDir(dir);
  });

  async function status(): Promise<ReceiverState> {
    const res = await fetch(`${receiverUrl}/status`, { signal: AbortSignal.timeout(5_000) });
    return (await res.json()) as ReceiverState;
  }

  /** Builds a FROM-scratch busybox image whose container prints `version` then sleeps; pushes it; returns the digest. */
  async function buildAndPush(version: string): Promise<string> {
    if (!berth) throw new Error("beforeAll did not finish");
    const context = join(dir, `context-${version}`);
    mkdirSync(join(context, "bin"), { recursive: true });
    copyFileSync(staticBusybox(), join(context, "bin/busybox"));
    writeFileSync(join(context, "version"), `${version}\n`);
    writeFileSync(
      join(context, "Dockerfile"),
      [
        "FROM scratch",
        "COPY bin/busybox /bin/busybox",
        "COPY version /etc/version",
        `CMD ["/bin/busybox", "sh", "-c", "/bin/busybox cat /etc/version; exec /bin/busybox sleep 3600"]`,
        "",
      ].join("\n"),
    );
    const ref = `${berth.host}/${REPOSITORY}:${TAG}`;
    await docker(["build", "--quiet", "--tag", ref, context], { timeoutMs: 90_000 });
    const id = (await docker(["image", "inspect", "--format", "{{.Id}}", ref])).stdout.trim();
    images.push(id);
    const pushed = await docker(["push", ref], { timeoutMs: 120_000 });
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    if (!digest) throw new Error(`No digest in docker push output:\n${pushed.stdout}`);
    return digest;
  }

  async function waitForDeployment(digest: string): Promise<ReceiverState> {
    const deadline = Date.now() + 60_000;
    let last = await status();
    while (Date.now() < deadline && last.deployed !== digest) {
      await Bun.sleep(100);
      last = await status();
    }
    expect(last.lastError).toBeNull();
    expect(last.deployed).toBe(digest);
    return last;
  }

  async function containerLogs(expected: string): Promise<string> {
    const deadline = Date.now() + 10_000;
    let text = "";
    while (Date.now() < deadline) {
      const result = await docker(["logs", container], { allowFailure: true, timeoutMs: 10_000 });
      text = result.stdout + result.stderr;
      if (text.includes(expected)) break;
      await Bun.sleep(100);
    }
    return text;
  }

  logged("a push of v1 is deployed: the container runs the pushed digest and prints v1", async () => {
    const digest = await buildAndPush(`v1-${nonce}`);
    const state = await waitForDeployment(digest);
    expect(state.deployments).toBe(1);
    expect((await containerLogs(`v1-${nonce}`)).trim()).toBe(`v1-${nonce}`);
    const image = await docker(["inspect", "--format", "{{.Config.Image}} {{.State.Running}}", container]);
    expect(image.stdout.trim()).toBe(`${berth?.host}/${REPOSITORY}@${digest} true`);
  });

  logged("a push of v2 replaces it: the new container prints v2", async () => {
    const digest = await buildAndPush(`v2-${nonce}`);
    const state = await waitForDeployment(digest);
    expect(state.deployments).toBe(2);
    expect((await containerLogs(`v2-${nonce}`)).trim()).toBe(`v2-${nonce}`);
    const image = await docker(["inspect", "--format", "{{.Config.Image}} {{.State.Running}}", container]);
    expect(image.stdout.trim()).toBe(`${berth?.host}/${REPOSITORY}@${digest} true`);
    const named = await docker(["ps", "--all", "--filter", `name=^${container}$`, "--format", "{{.Names}}"]);
    expect(named.stdout.trim().split("\n")).toEqual([container]);
  });

  logged("a request with a bad signature or a stale timestamp gets 401 and deploys nothing", async () => {
    const before = await status();
    const body = JSON.stringify({
      events: [
        {
          id: crypto.randomUUID(),
          timestamp: new Date().toISOString(),
          action: "push",
          target: { repository: REPOSITORY, tag: TAG, digest: `sha256:${"ab".repeat(32)}`, mediaType: "application/vnd.oci.image.manifest.v1+json" },
        },
      ],
    });
    const now = String(Math.floor(Date.now() / 1000));
    const stale = String(Math.floor(Date.now() / 1000) - 6 * 60);
    const attempts: Array<Record<string, string>> = [
      { "X-Berth-Timestamp": now, "X-Berth-Signature": hmac("wrong-secret", now, body) },
      { "X-Berth-Timestamp": now, "X-Berth-Signature": hmac(SECRET, now, `${body} `) },
      { "X-Berth-Timestamp": stale, "X-Berth-Signature": hmac(SECRET, stale, body) },
      { "X-Berth-Timestamp": now },
      {},
    ];
    for (const headers of attempts) {
      const res = await fetch(`${receiverUrl}/hook`, { method: "POST", body, headers: { ...headers, "Content-Type": "application/json" } });
      expect(res.status, JSON.stringify(headers)).toBe(401);
    }
    // Deployments run one after another: a good request for the running digest queues one that
    // is skipped, and once it is, anything the refused requests could have queued is done.
    const running = before.deployed;
    if (running === null) throw new Error("nothing deployed: the tests above failed");
    const good = JSON.stringify({
      events: [{ id: crypto.randomUUID(), timestamp: new Date().toISOString(), action: "push", target: { repository: REPOSITORY, tag: TAG, digest: running } }],
    });
    const accepted = await fetch(`${receiverUrl}/hook`, {
      method: "POST",
      body: good,
      headers: { "X-Berth-Timestamp": now, "X-Berth-Signature": hmac(SECRET, now, good), "Content-Type": "application/json" },
    });
    expect(accepted.status).toBe(202);
    const skipped = `skip ${running}`;
    expect(await waitForOutput(receiver ?? { output: () => "" }, skipped, 10_000)).toContain(skipped);
    expect(await status()).toEqual(before);
  });
});
