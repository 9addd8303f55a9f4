/**
 * deploy-on-push: a Berth webhook receiver that redeploys one container whenever REPOSITORY:TAG
 * is pushed. It checks X-Berth-Signature (and refuses timestamps more than five minutes off),
 * then runs, one deployment at a time:
 *
 *   docker pull  REGISTRY/REPOSITORY@DIGEST
 *   docker rm -f CONTAINER
 *   docker run -d --name CONTAINER --network none REGISTRY/REPOSITORY@DIGEST
 *
 * Configuration (environment): PORT (9000), HOST (127.0.0.1), SECRET, REPOSITORY, TAG (latest),
 * REGISTRY (host:port as docker names it), CONTAINER, DOCKER (docker).
 * Run: SECRET=… REPOSITORY=app REGISTRY=registry.example.com CONTAINER=app bun receiver.ts
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const MAX_SKEW_SECONDS = 300;
const COMMAND_TIMEOUT_MS = 120_000;

export interface Settings {
  port: number;
  host: string;
  secret: string;
  repository: string;
  tag: string;
  registry: string;
  container: string;
  docker: string;
}

/** @throws Error naming every missing variable */
export function readSettings(env: Record<string, string | undefined>): Settings {
  const missing = ["SECRET", "REPOSITORY", "REGISTRY", "CONTAINER"].filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`Missing environment variables: ${missing.join(", ")}`);
  return {
    port: Number(env.PORT ?? 9000),
    host: env.HOST ?? "127.0.0.1",
    secret: env.SECRET as string,
    repository: env.REPOSITORY as string,
    tag: env.TAG ?? "latest",
    registry: env.REGISTRY as string,
    container: env.CONTAINER as string,
    docker: env.DOCKER ?? "docker",
  };
}

/** Why a request is refused, or null when its signature and timestamp are good. */
export function verify(secret: string, timestamp: string | null, signature: string | null, body: string, nowMs = Date.now()): string | null {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) return "missing or malformed X-Berth-Timestamp";
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) return "X-Berth-Timestamp is more than 5 minutes off";
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`);
  const given = Buffer.from(signature ?? "");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "bad X-Berth-Signature";
  return null;
}

interface Push {
  id: string;
  timestamp: string;
  repository: string;
  tag: string;
  digest: string;
}

interface EventShape {
  id?: unknown;
  timestamp?: unknown;
  action?: unknown;
  target?: { repository?: unknown; tag?: unknown; digest?: unknown };
}

/** Tagged pushes in either payload format: Distribution's {"events": [...]} or one CloudEvent. */
export function pushesIn(payload: unknown): Push[] {
  const body = payload as { events?: unknown; specversion?: unknown; data?: unknown } | null;
  const events: unknown[] = Array.isArray(body?.events) ? body.events : body?.specversion ? [body.data] : [];
  const pushes: Push[] = [];
  for (const raw of events) {
    const event = raw as EventShape | null;
    const target = event?.target;
    if (event?.action !== "push" || typeof target?.tag !== "string" || typeof target.digest !== "string") continue;
    pushes.push({ id: String(event.id), timestamp: String(event.timestamp), repository: String(target.repository), tag: target.tag, digest: target.digest });
  }
  return pushes;
}

async function run(cmd: string[]): Promise<void> {
  const proc = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, DOCKER_CLI_HINTS: "false" } });
  const timer = setTimeout(() => proc.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}: ${(stderr || stdout).trim().slice(-500)}`);
}

export interface State {
  /** digest of the running deployment */
  deployed: string | null;
  deployments: number;
  lastError: string | null;
}

/** Deploys one push at a time; skips a digest already running and pushes older than the last one deployed. */
export function createDeployer(settings: Settings, log: (message: string) => void) {
  const state: State = { deployed: null, deployments: 0, lastError: null };
  let newest = "";
  let chain: Promise<void> = Promise.resolve();

  async function deploy(push: Push): Promise<void> {
    if (push.digest === state.deployed || push.timestamp < newest) {
      log(`skip ${push.digest}: already deployed or older than the running one`);
      return;
    }
    const image = `${settings.registry}/${settings.repository}@${push.digest}`;
    const docker = settings.docker;
    try {
      log(`deploying ${image}`);
      await run([docker, "pull", image]);
      await run([docker, "rm", "-f", settings.container]).catch(() => undefined); // absent the first time
      await run([docker, "run", "-d", "--name", settings.container, "--network", "none", image]);
      state.deployed = push.digest;
      state.deployments++;
      state.lastError = null;
      newest = push.timestamp;
      log(`deployed ${image} as ${settings.container}`);
    } catch (error) {
      state.lastError = (error as Error).message;
      log(`deploy failed: ${state.lastError}`);
    }
  }

  return {
    state,
    /** queues the deployment and returns at once, so Berth's request does not wait for docker */
    enqueue(push: Push): void {
      chain = chain.then(() => deploy(push));
    },
  };
}

export function startReceiver(settings: Settings, log: (message: string) => void = (m) => console.log(`[deploy-on-push] ${m}`)) {
  const deployer = createDeployer(settings, log);
  const server = Bun.serve({
    hostname: settings.host,
    port: settings.port,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/status") return Response.json(deployer.state);
      if (request.method !== "POST") return new Response("POST webhook events here\n", { status: 405 });
      const body = await request.text();
      const refused = verify(settings.secret, request.headers.get("x-berth-timestamp"), request.headers.get("x-berth-signature"), body);
      if (refused) {
        log(`refused a request: ${refused}`);
        return Response.json({ error: refused }, { status: 401 });
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        return Response.json({ error: "body is not JSON" }, { status: 400 });
      }
      const wanted = pushesIn(payload).filter((p) => p.repository === settings.repository && p.tag === settings.tag);
      for (const push of wanted) deployer.enqueue(push);
      return Response.json({ deploying: wanted.map((p) => p.digest) }, { status: wanted.length > 0 ? 202 : 200 });
    },
  });
  log(`listening on ${settings.host}:${server.port} for pushes of ${settings.repository}:${settings.tag}`);
  return { server, state: deployer.state };
}

if (import.meta.main) {
  try {
    startReceiver(readSettings(process.env));
  } catch (error) {
    console.error(`deploy-on-push: ${(error as Error).message}`);
    process.exit(2);
  }
}
