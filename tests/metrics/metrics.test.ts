/**
 * GET /metrics: Prometheus text that promtool accepts, Distribution's and Zot's series names,
 * on its own listener ([metrics] addr) and on the main one only with [metrics] token; the
 * Grafana dashboard queries only series the page has.
 */
import { expect } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, pushImage, uniqueName } from "../helpers/oci.ts";
import { removeDir, repoRoot, serverSuite, startBerth, tempDir, waitForOutput } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();
const TOKEN = "metrics-token-for-tests";

async function startWithMetrics(args: string[] = ["serve"]) {
  const berth = await servers.started(startBerth({ args, env: { BERTH_METRICS_ADDR: "127.0.0.1:0", BERTH_METRICS_TOKEN: TOKEN } }));
  const output = await waitForOutput(berth, "metrics listening");
  const port = / addr=127\.0\.0\.1:(\d+)/.exec(output.split("\n").find((line) => line.includes("metrics listening")) ?? "")?.[1];
  if (port === undefined) throw new Error(`no metrics listener in:\n${output}`);
  return { berth, metricsUrl: `http://127.0.0.1:${port}/metrics` };
}

/** The metric names a page defines (# TYPE lines), with _bucket/_sum/_count for histograms. */
function seriesNames(page: string): Set<string> {
  const names = new Set<string>();
  for (const line of page.split("\n")) {
    const typed = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!typed) continue;
    const [, name, type] = typed as unknown as [string, string, string];
    names.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
  }
  return names;
}

test("the page passes promtool check metrics and has the HTTP, storage and process series", async () => {
  const { berth, metricsUrl } = await startWithMetrics();
  const repo = uniqueName("metrics/app");
  await pushImage(berth.url, repo, { tag: "v1" });
  await call(berth.url, `/v2/${repo}/manifests/v1`);
  const page = await (await fetch(metricsUrl)).text();
  const promtool = Bun.which("promtool");
  if (promtool === null) throw new Error("promtool is missing: install Debian's prometheus package (tests/machine.sh does)");
  const checked = Bun.spawnSync([promtool, "check", "metrics"], { stdin: new TextEncoder().encode(page), stdout: "pipe", stderr: "pipe" });
  expect(`${checked.stdout.toString()}${checked.stderr.toString()}`).toBe("");
  expect(checked.exitCode).toBe(0);
  expect(page).toMatch(/^registry_http_requests_total\{code="201",handler="manifest",method="put"\} 1$/m);
  expect(page).toMatch(/^registry_http_requests_total\{code="200",handler="manifest",method="get"\} 1$/m);
  expect(page).toMatch(/^registry_http_request_duration_seconds_bucket\{handler="blob_upload_chunk",method="put",le="\+Inf"\} \d+$/m);
  expect(page).toMatch(/^zot_http_requests_total\{method="PUT",code="201"\} \d+$/m);
  expect(page).toMatch(/^berth_repositories 1$/m);
  expect(page).toMatch(/^berth_manifests 1$/m);
  expect(page).toMatch(new RegExp(`^zot_repo_storage_bytes\\{repo="${repo}"\\} [1-9]\\d*$`, "m"));
  expect(page).toMatch(/^berth_namespace_storage_bytes\{namespace="metrics"\} [1-9]\d*$/m);
  expect(page).toMatch(/^process_open_fds [1-9]\d*$/m);
  expect(page).toMatch(/^berth_build_info\{version="[^"]+",bun="[^"]+"\} 1$/m);
  expect(page).toMatch(/^registry_http_in_flight_requests\{handler="manifest"\} 0$/m);
});

test("the main listener serves /metrics to the bearer token only; the metrics listener nothing else", async () => {
  const { berth, metricsUrl } = await startWithMetrics();
  expect((await fetch(`${berth.url}/metrics`)).status).toBe(404);
  expect((await fetch(`${berth.url}/metrics`, { headers: { Authorization: "Bearer wrong" } })).status).toBe(404);
  const allowed = await fetch(`${berth.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  expect(await allowed.text()).toContain("registry_http_requests_total");
  expect((await fetch(metricsUrl.replace("/metrics", "/v2/"))).status).toBe(404);
});

test("every metric the Grafana dashboard queries is on the page", async () => {
  const dashboard: unknown = JSON.parse(readFileSync(join(repoRoot, "examples/grafana/berth.json"), "utf8"));
  const expressions: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (typeof value === "object" && value !== null) {
      for (const [key, child] of Object.entries(value)) {
        if (key === "expr" && typeof child === "string") expressions.push(child);
        else walk(child);
      }
    }
  };
  walk(dashboard);
  expect(expressions.length).toBeGreaterThan(10);
  // the plugins' series exist once they run: webhook, retention and signing on
  const dir = tempDir("berth-dashboard-");
  cleanups.push(async () => removeDir(dir));
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey)).toString("base64");
  writeFileSync(join(dir, "ci.pub"), `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)?.join("\n")}\n-----END PUBLIC KEY-----\n`);
  writeFileSync(join(dir, "registry.toml"), PLUGINS_CONFIG);
  const { metricsUrl } = await startWithMetrics(["serve", "--config", join(dir, "registry.toml")]);
  const names = seriesNames(await (await fetch(metricsUrl)).text());
  const functions = new Set(["sum", "by", "rate", "increase", "histogram_quantile", "topk", "le", "handler", "code", "method", "endpoint", "kind", "outcome", "status", "result", "namespace"]);
  const missing: string[] = [];
  for (const expr of expressions) {
    const withoutStrings = expr.replace(/"[^"]*"/g, "").replace(/\[[^\]]*\]/g, "");
    for (const word of withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
      if (functions.has(word) || /^\d/.test(word)) continue;
      if (!names.has(word)) missing.push(`${word} (in ${expr})`);
    }
  }
  expect(missing).toEqual([]);
});

const PLUGINS_CONFIG = `
[[webhook.endpoints]]
name = "ci"
url = "http://127.0.0.1:9/hook"

[[retention.policies]]
repositories = ["none/**"]
  [[retention.policies.rules]]
  tags = ["v*"]
  most_recent = 1

[[signing.policies]]
repositories = ["signed/**"]
mode = "warn"
keys = ["ci.pub"]
`;
