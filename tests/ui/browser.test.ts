/**
 * The web UI in Chromium against the compiled binary, with images pushed by docker and by the
 * API: sign in, search, sort, a repository, an image of each kind (Docker schema 2, an OCI
 * index, an artifact with referrers), copying a pull command, deleting a tag while the digest's
 * other tag stays, the retention preview, redelivering a webhook, what a non-admin and an
 * anonymous caller see. No console error or failed request on any page; axe-core on each.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { startAuthBerth, writeHtpasswd, type AuthBerth } from "../helpers/auth.ts";
import { buildTestImage, docker, removeImage, tagImage, type TestImage } from "../helpers/docker.ts";
import { imageOf, randomLayer, uniqueConfig } from "../helpers/gc.ts";
import { type Bytes, call, descriptorOf, expectStatus, imageManifestJson, indexJson, localUrl, MT, serialize, sha256, utf8 } from "../helpers/oci.ts";
import { removeDir, tempDir } from "../helpers/server.ts";
import { accessibilityProblems, CHROMIUM, expectClean, launch, screenshot, type WatchedPage, watchedPage } from "./support.ts";

const ADMIN = { name: "admin", password: "admin-secret-1" };
const DEV = { name: "dev", password: "dev-secret-1" };
const basic = (user: { name: string; password: string }) => `Basic ${btoa(`${user.name}:${user.password}`)}`;
const asAdmin = { Authorization: basic(ADMIN) };

async function blob(repo: string, bytes: Bytes): Promise<void> {
  const started = await call(berth.url, `/v2/${repo}/blobs/uploads/`, { method: "POST", headers: asAdmin });
  expectStatus(started, 202);
  const put = localUrl(berth.url, started.headers.get("location"));
  put.searchParams.set("digest", sha256(bytes));
  expectStatus(await call(berth.url, put.href, { method: "PUT", headers: { ...asAdmin, "Content-Type": "application/octet-stream" }, body: bytes }), 201);
}

async function manifest(repo: string, reference: string, bytes: Bytes, mediaType: string): Promise<void> {
  expectStatus(await call(berth.url, `/v2/${repo}/manifests/${reference}`, { method: "PUT", headers: { ...asAdmin, "Content-Type": mediaType }, body: bytes }), 201);
}

let berth: AuthBerth;
let browser: Browser;
let receiver: ReturnType<typeof Bun.serve>;
let image: TestImage;
let failDeliveries = true;
const dockerConfig = tempDir("berth-ui-docker-");
const shots = process.env.BERTH_SCREENSHOTS ?? tempDir("berth-ui-shots-");

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (tests/machine.sh does)`);
  receiver = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(null, { status: failDeliveries ? 500 : 200 }) });
  berth = await startAuthBerth({
    prepare: (root) => writeHtpasswd(join(root, "users.htpasswd"), [ADMIN, DEV]),
    config: `
[auth]
htpasswd = "users.htpasswd"
admins = ["admin"]

[[access]]
repositories = ["team/**"]
users = ["dev"]
actions = ["pull", "push"]

[[access]]
repositories = ["public/**"]
anonymous = true
actions = ["pull"]

[[webhook.endpoints]]
name = "ci"
url = "http://127.0.0.1:${receiver.port}/hook"
actions = ["push", "delete"]
retry = { max_attempts = 1 }

[[replication]]
name = "standby"
url = "http://127.0.0.1:9"
repositories = ["team/**"]

[[proxy]]
prefix = "hub"
url = "http://127.0.0.1:9"

[[retention.policies]]
repositories = ["team/**"]
  [[retention.policies.rules]]
  tags = ["v*"]
  most_recent = 1
`,
  });
  const host = `127.0.0.1:${berth.port}`;
  // a Docker schema 2 image by docker, under two tags of one digest
  await docker(["--config", dockerConfig, "login", host, "--username", ADMIN.name, "--password", ADMIN.password]);
  image = await buildTestImage({ name: "ui" });
  for (const tag of ["v1", "latest"]) {
    await tagImage(image.tag, `${host}/team/app:${tag}`);
    await docker(["--config", dockerConfig, "push", `${host}/team/app:${tag}`], { timeoutMs: 120_000 });
  }
  // an OCI index of two platforms, and an artifact referring to it
  const children = [];
  for (const architecture of ["amd64", "arm64"]) {
    const child = imageOf(uniqueConfig(), [randomLayer(1024)]);
    for (const part of [child.config, ...child.layers]) await blob("team/multi", part.bytes);
    await manifest("team/multi", child.digest, child.bytes, MT.ociManifest);
    children.push({ ...descriptorOf(MT.ociManifest, child.bytes), platform: { os: "linux", architecture } });
  }
  const index = serialize(indexJson({ manifests: children }));
  await manifest("team/multi", "v2", index, MT.ociIndex);
  await manifest("team/multi", "v3", index, MT.ociIndex);
  const empty = utf8("{}");
  await blob("team/multi", empty);
  const sbom = serialize(imageManifestJson({ artifactType: "application/spdx+json", config: descriptorOf("application/vnd.oci.empty.v1+json", empty), layers: [descriptorOf("application/vnd.oci.empty.v1+json", empty)], subject: descriptorOf(MT.ociIndex, index) }));
  await manifest("team/multi", sha256(sbom), sbom, MT.ociManifest);
  const pub = imageOf(uniqueConfig(), [randomLayer(512)]);
  for (const part of [pub.config, ...pub.layers]) await blob("public/tool", part.bytes);
  await manifest("public/tool", "stable", pub.bytes, MT.ociManifest);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  if (image) await removeImage(image.id).catch(() => undefined);
  await berth?.stop();
  receiver?.stop(true);
  removeDir(dockerConfig);
  if (!process.env.BERTH_SCREENSHOTS) removeDir(shots);
});

async function signIn(watched: WatchedPage, user: { name: string; password: string }): Promise<void> {
  const { page } = watched;
  await page.goto(`${berth.url}/#/signin`);
  await page.waitForSelector("#user");
  expect(await accessibilityProblems(page), "accessibility of the sign-in page").toEqual([]);
  await page.fill("#user", user.name);
  await page.fill("#password", user.password);
  await page.click("form.signin button[type=submit]");
  await page.waitForSelector("#search");
}

async function checkA11y(watched: WatchedPage, where: string): Promise<void> {
  expect(await accessibilityProblems(watched.page), `accessibility of ${where}`).toEqual([]);
}

describe("the web UI as an admin", () => {
  test("sign in, search, sort, open a repository and each kind of image, copy a pull command", async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    const tokenScopes: string[] = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname === "/auth/token") tokenScopes.push(url.searchParams.get("scope") ?? "");
    });
    await signIn(watched, ADMIN);
    expectClean(watched, "sign-in");
    await page.waitForSelector("text=team/app");
    expect(await page.isVisible("nav a[href='#/cleanup']")).toBe(true);
    await screenshot(page, shots, "repositories-1280");
    await checkA11y(watched, "the repository list");

    await page.fill("#search", "multi");
    await page.waitForFunction(() => !document.querySelector("#results")?.textContent?.includes("team/app"));
    expect(await page.textContent("#results")).toContain("team/multi");
    await page.fill("#search", "");
    await page.selectOption("#sort", "size");
    await page.waitForSelector("#results >> text=public/tool");
    expectClean(watched, "search and sort");

    await page.goto(`${berth.url}/#/r/team/app`);
    await page.waitForSelector("tr[data-tag=v1]");
    expect(await page.textContent("tr[data-tag=v1]")).toContain("same digest as latest");
    await screenshot(page, shots, "repository-1280");
    await checkA11y(watched, "a repository");

    // signed in through the token service, one token per scope, as docker does
    expect(tokenScopes).toContain("registry:catalog:*");
    expect(tokenScopes).toContain("repository:team/app:pull");
    await page.click("tr[data-tag=v1] a");
    await page.waitForSelector("text=Layers");
    expect(await page.textContent("main")).toContain("cat /etc/berth-version"); // the config's Cmd
    await page.click("button[aria-label='Copy the docker command']");
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toMatch(/^docker pull 127\.0\.0\.1:\d+\/team\/app@sha256:[0-9a-f]{64}$/);
    await screenshot(page, shots, "image-1280");
    await checkA11y(watched, "an image");
    expectClean(watched, "the repository and image pages");

    await page.goto(`${berth.url}/#/r/team/multi`);
    await page.click("tr[data-tag=v2] a");
    await page.waitForSelector("h2 >> text=Platforms");
    expect(await page.textContent("main")).toContain("linux/arm64");
    expect(await page.textContent("main")).toContain("application/spdx+json");
    const indexTitle = await page.textContent("h1");
    await page.click("text=application/spdx+json");
    // the artifact's own page: another title, loaded (the index page has a "Type" card too)
    await page.waitForFunction((before) => {
      const title = document.querySelector("h1")?.textContent;
      return title !== before && !document.querySelector("main")?.textContent?.includes("Loading");
    }, indexTitle);
    expect(await page.textContent("main")).toContain("application/spdx+json");
    expectClean(watched, "an index and an artifact");
    await watched.context.close();
  });

  test("deleting a tag leaves the digest's other tag", async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await signIn(watched, ADMIN);
    await page.goto(`${berth.url}/#/r/team/app`);
    await page.check("tr[data-tag=latest] input[type=checkbox]");
    await page.click("#delete-tags");
    expect(await page.textContent("dialog")).toContain("stays: still tagged v1");
    await page.click("#confirm-delete");
    await page.waitForFunction(() => document.querySelector("tr[data-tag=latest]") === null && document.querySelector("tr[data-tag=v1]") !== null);
    const res = await call(berth.url, "/v2/team/app/manifests/v1", { method: "HEAD", headers: { ...asAdmin, Accept: `${MT.dockerManifest}, ${MT.ociManifest}` } });
    expect(res.status).toBe(200);
    expectClean(watched, "the tag delete");
    await watched.context.close();
  });

  test("cleanup shows GC and the retention preview; activity redelivers a webhook", async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await signIn(watched, ADMIN);
    await page.goto(`${berth.url}/#/cleanup`);
    await page.waitForSelector("#retention-preview");
    expect(await page.textContent("#retention-preview")).toContain("team/multi:v2");
    await checkA11y(watched, "cleanup");
    await screenshot(page, shots, "cleanup-1280");

    expectStatus(await call(berth.url, "/v2/team/app/manifests/v1", { headers: { ...asAdmin, Accept: `${MT.dockerManifest}, ${MT.ociManifest}` } }), 200); // a pull
    await page.goto(`${berth.url}/#/activity`);
    await page.waitForSelector("#deliveries");
    expect(await page.textContent("#replication")).toContain("standby");
    expect(await page.textContent("#audit")).toContain("team/app");
    expect(await page.textContent("#pulls")).toContain("team/app");
    failDeliveries = false;
    await page.click("#deliveries button >> nth=0");
    await page.waitForSelector("text=Queued for delivery");
    await checkA11y(watched, "activity");
    expectClean(watched, "cleanup and activity");
    await watched.context.close();
  });

  test("accounts: create a robot, its secret signs in once shown; disable it", async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await signIn(watched, ADMIN);
    await page.goto(`${berth.url}/#/accounts`);
    await page.fill("#robot-name", "ui-ci");
    await page.fill("#robot-repositories", "team/**");
    await page.fill("#robot-actions", "pull");
    await page.fill("#robot-expires", "3d");
    await page.click("#robot-create");
    const secret = (await page.textContent("#robot-secret")) ?? "";
    expect(secret.length).toBeGreaterThan(20);
    const robotAuth = { Authorization: `Basic ${btoa(`robot$ui-ci:${secret}`)}` };
    expect((await call(berth.url, "/v2/team/app/tags/list", { headers: robotAuth })).status).toBe(200);
    await checkA11y(watched, "accounts");
    await page.click("dialog button >> text=Done");
    await page.waitForSelector("tr[data-robot=ui-ci] >> text=expires in 3 days");
    await page.click("button[aria-label='Disable ui-ci']");
    await page.waitForSelector("tr[data-robot=ui-ci] >> text=disabled");
    expect((await call(berth.url, "/v2/team/app/tags/list", { headers: robotAuth })).status).toBe(401);
    expectClean(watched, "accounts");
    await watched.context.close();
  });

  test("at 390 px wide", async () => {
    const watched = await watchedPage(browser, { width: 390 });
    const { page } = watched;
    await signIn(watched, ADMIN);
    await screenshot(page, shots, "repositories-390");
    await page.goto(`${berth.url}/#/r/team/multi`);
    await page.waitForSelector("tr[data-tag=v2]");
    await screenshot(page, shots, "repository-390");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expectClean(watched, "the narrow pages");
    await watched.context.close();
  });
});

describe("the web UI for others", () => {
  test("a non-admin sees no admin action and cannot delete", async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await signIn(watched, DEV);
    expect(await page.isVisible("nav a[href='#/cleanup']")).toBe(false);
    await page.goto(`${berth.url}/#/r/team/app`);
    await page.waitForSelector("tr[data-tag=v1]");
    expect(await page.isVisible("#delete-tags")).toBe(false);
    expect(await page.isDisabled("tr[data-tag=v1] input[type=checkbox]")).toBe(true);
    expectClean(watched, "a non-admin's pages");
    await watched.context.close();
  });

  test("anonymous callers browse what anonymous may pull, and are asked to sign in for the rest", async () => {
    const watched = await watchedPage(browser);
    const { page } = watched;
    await page.goto(`${berth.url}/`);
    await page.waitForSelector("text=public/tool");
    expect(await page.textContent("#results")).not.toContain("team/app");
    expect(await page.isVisible("#signin")).toBe(true);
    expectClean(watched, "anonymous browsing");
    await page.goto(`${berth.url}/#/r/team/app`);
    await page.waitForSelector(".error");
    expect(await page.textContent(".error")).toContain("Sign in");
    watched.take(); // the 401 is the expected answer here
    await watched.context.close();
  });
});
