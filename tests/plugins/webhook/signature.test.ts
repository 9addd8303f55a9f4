/**
 * Signatures end to end without docker: Berth signs, the deploy-on-push example receiver
 * checks. The endpoint with the right secret is accepted; one with a wrong secret is refused
 * with 401, which the deliveries API shows as the last status and error.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { portOf, type ServerProcess, startServer } from "../../helpers/process.ts";
import { berthEnv, removeDir, repoRoot, startBerth, tempDir, withServerLog, type BerthProcess } from "../../helpers/server.ts";
import { prepareImage, putManifest, writeConfig } from "./support.ts";

interface Delivery {
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
}

let berth: BerthProcess | undefined;
let receiver: ServerProcess | undefined;
const dir = tempDir("berth-webhook-signature-");

afterAll(async () => {
  await receiver?.stop();
  await berth?.stop();
  removeDir(dir);
});

test(
  "the example receiver accepts Berth's signature and refuses a wrong secret with 401",
  withServerLog(
    () => [berth],
    async () => {
      // REPOSITORY names a repository nobody pushes to: a verified event is acknowledged, nothing is deployed
      receiver = await startServer({
        name: "the deploy-on-push receiver",
        cmd: [process.execPath, join(repoRoot, "examples/deploy-on-push/receiver.ts")],
        cwd: dir,
        env: berthEnv({ PORT: "0", HOST: "127.0.0.1", SECRET: "right", REPOSITORY: "not/pushed", REGISTRY: "127.0.0.1:1", CONTAINER: "unused", DOCKER: "false" }),
        boundPort: (output) => {
          const addr = /listening on (\S+)/.exec(output)?.[1];
          return addr === undefined ? undefined : portOf(addr);
        },
      });
      const url = `http://127.0.0.1:${receiver.port}/hook`;

      const retry = { backoff: "5s", max_attempts: 1 };
      const config = writeConfig(dir, {
        endpoints: [
          { name: "good", url, secret: "right", ignored_media_types: ["application/octet-stream"], retry },
          { name: "forged", url, secret: "wrong", ignored_media_types: ["application/octet-stream"], retry },
        ],
      });
      berth = await startBerth({ root: dir, args: ["serve", "--config", config] });
      const image = await prepareImage(berth.url, "app");
      await putManifest(berth.url, "app", "v1", image.manifest);

      const base = berth.url;
      const settled = async (endpoint: string): Promise<Delivery | undefined> => {
        const res = await fetch(`${base}/api/webhooks/deliveries?endpoint=${endpoint}`);
        const [delivery] = ((await res.json()) as { deliveries: Delivery[] }).deliveries;
        return delivery && delivery.status !== "pending" ? delivery : undefined;
      };
      const until = Date.now() + 10_000;
      while (Date.now() < until && !((await settled("good")) && (await settled("forged")))) await Bun.sleep(50);
      expect(await settled("good")).toMatchObject({ status: "delivered", attempts: 1, lastStatusCode: 200 });
      expect(await settled("forged")).toMatchObject({
        status: "dead",
        attempts: 1,
        lastStatusCode: 401,
        lastError: 'HTTP 401: {"error":"bad X-Berth-Signature"}',
      });
    },
  ),
  30_000,
);
