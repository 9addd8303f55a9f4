/** [storage.s3] as the configuration reads it: defaults, the AWS_* fallbacks, redaction, refusals. */
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfiguration } from "../../src/config/load.ts";
import { redactConfig } from "../../src/config/redact.ts";
import { resolveS3Settings } from "../../src/storage/s3/settings.ts";
import { removeDir, tempDir } from "../helpers/server.ts";

const dir = tempDir("berth-s3-config-");
afterAll(() => removeDir(dir));
let files = 0;
const load = (text: string, env: Record<string, string> = {}) => {
  const path = join(dir, `config-${++files}.toml`);
  writeFileSync(path, text);
  return loadConfiguration({ env, cwd: dir, path });
};

test("[storage.s3] keys resolve; the secret key is redacted", () => {
  const { resolved, config } = load(
    '[storage]\ndriver = "s3"\nredirect = true\n[storage.s3]\nbucket = "b"\nendpoint = "http://127.0.0.1:7480/"\naccess_key = "AK"\nsecret_key = "hunter2"\nprefix = "/reg/"\nforce_path_style = true\nchunk_size = 5242880\n',
  );
  expect(resolved.storage.driver).toBe("s3");
  expect(resolveS3Settings(resolved.storage.s3, resolved.storage.redirect, {})).toEqual({
    bucket: "b",
    region: "us-east-1",
    endpoint: "http://127.0.0.1:7480",
    accessKey: "AK",
    secretKey: "hunter2",
    prefix: "reg",
    pathStyle: true,
    chunkSize: 5242880,
    redirect: true,
  });
  expect(JSON.stringify(redactConfig(config))).not.toContain("hunter2");
});

test("credentials, region and endpoint come from the AWS_* variables when the keys are empty", () => {
  const { resolved } = load('[storage]\ndriver = "s3"\n', { BERTH_STORAGE_S3_BUCKET: "from-env" });
  const env = { AWS_ACCESS_KEY_ID: "id", AWS_SECRET_ACCESS_KEY: "secret", AWS_REGION: "eu-west-3", AWS_ENDPOINT_URL: "https://s3.example.com" };
  const settings = resolveS3Settings(resolved.storage.s3, false, env);
  expect([settings.bucket, settings.accessKey, settings.secretKey, settings.region, settings.endpoint, settings.pathStyle]).toEqual([
    "from-env",
    "id",
    "secret",
    "eu-west-3",
    "https://s3.example.com",
    false,
  ]);
  expect(resolveS3Settings(resolved.storage.s3, false, { AWS_ACCESS_KEY_ID: "i", AWS_SECRET_ACCESS_KEY: "s" }).endpoint).toBe("https://s3.us-east-1.amazonaws.com");
});

test("no bucket, no credentials or an endpoint with a path are refused naming the key", () => {
  const { resolved } = load('[storage]\ndriver = "s3"\n');
  expect(() => resolveS3Settings(resolved.storage.s3, false, {})).toThrow(/storage.s3.bucket/);
  const withBucket = { ...resolved.storage.s3, bucket: "b" };
  expect(() => resolveS3Settings(withBucket, false, {})).toThrow(/access_key and secret_key/);
  expect(() => resolveS3Settings({ ...withBucket, endpoint: "http://h:1/path", access_key: "a", secret_key: "s" }, false, {})).toThrow(/endpoint/);
  expect(() => load('[storage.s3]\nbucket = "b"\nacces_key = "typo"\n')).toThrow(/acces_key/);
});
