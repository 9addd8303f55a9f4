/**
 * skopeo against Berth configured as registry:2 tutorials configure htpasswd auth: a users
 * file made by Apache's `htpasswd -B` and no [[access]] rule. Any signed-in user copies in and
 * out and deletes; without credentials nothing works.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type AuthBerth, basicHeader, pushTestImage, startAuthBerth } from "../helpers/auth.ts";
import { exec } from "../helpers/docker.ts";
import { withServerLog } from "../helpers/server.ts";

const skopeo = (args: string[]) => exec(["skopeo", "--command-timeout", "60s", ...args], { allowFailure: true, timeoutMs: 90_000 });
const PLAIN = ["--tls-verify=false"];

describe("skopeo with htpasswd only (registry:2's model)", () => {
  let berth: AuthBerth | undefined;
  const logged = (name: string, body: () => Promise<void>) => test(name, withServerLog(() => [berth], body), 120_000);
  const b = () => berth as AuthBerth;

  beforeAll(async () => {
    berth = await startAuthBerth({
      config: '[auth]\nhtpasswd = "htpasswd"\n',
      prepare: async (root) => {
        const file = join(root, "htpasswd");
        await exec(["htpasswd", "-B", "-b", "-c", file, "alice", "alice-pw"]);
        await exec(["htpasswd", "-B", "-b", file, "bob", "bob-pw"]);
      },
    });
  }, 60_000);

  afterAll(async () => {
    await berth?.stop();
  });

  logged("any signed-in user copies an image in and out, inspects and deletes it; anonymous is refused", async () => {
    const source = await pushTestImage(b(), "origin/app", "v1", { Authorization: basicHeader("alice", "alice-pw") });
    expect(source.status).toBe(201);
    const from = `docker://${b().host}/origin/app:v1`;
    const to = `docker://${b().host}/elsewhere/copy:v1`;

    const copied = await skopeo(["copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", "bob:bob-pw", "--dest-creds", "bob:bob-pw", from, to]);
    expect(copied.stderr).toBe("");
    expect(copied.exitCode).toBe(0);

    const inspect = await skopeo(["inspect", "--raw", ...PLAIN, "--creds", "alice:alice-pw", to]);
    expect(inspect.exitCode).toBe(0);
    // skopeo compresses the test layer (it is not really gzip), so compare the config
    const config = (manifest: string) => (JSON.parse(manifest) as { config: { digest: string } }).config.digest;
    expect(config(inspect.stdout)).toBe(config(source.image.manifest));

    const anonymous = await skopeo(["inspect", "--raw", ...PLAIN, "--no-creds", to]);
    expect(anonymous.exitCode).not.toBe(0);
    expect(anonymous.stderr).toMatch(/unauthorized|authentication required/i);

    const deleted = await skopeo(["delete", ...PLAIN, "--creds", "alice:alice-pw", to]);
    expect(deleted.exitCode).toBe(0);
    const gone = await skopeo(["inspect", "--raw", ...PLAIN, "--creds", "alice:alice-pw", to]);
    expect(gone.exitCode).not.toBe(0);
    expect(gone.stderr).toMatch(/manifest unknown|not found/i);
  });
});
