/**
 * The S3 driver's settings: [storage.s3] in the configuration, with the usual AWS_* variables
 * for what it leaves empty (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
 * AWS_ENDPOINT_URL).
 */

/** [storage.s3] as written (the schema's defaults applied). */
export interface S3Config {
  bucket: string;
  region: string;
  endpoint: string;
  access_key: string;
  secret_key: string;
  prefix: string;
  force_path_style: boolean;
  chunk_size: number;
}

export interface S3Settings {
  bucket: string;
  region: string;
  /** scheme and host (and port), no trailing slash */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** "" or a key prefix without slashes at either end: every object lives below it */
  prefix: string;
  /** path-style URLs (endpoint/bucket/key) instead of virtual-hosted (bucket.endpoint/key) */
  pathStyle: boolean;
  /** multipart part size in bytes */
  chunkSize: number;
  /** answer blob GETs with a presigned URL */
  redirect: boolean;
}

/** S3's own floor for every part but the last (Ceph RGW's default too; RGW can be told less). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** @throws Error naming the key that is missing or wrong */
export function resolveS3Settings(config: S3Config, redirect: boolean, env: Record<string, string | undefined> = process.env): S3Settings {
  if (config.bucket === "") throw new Error('storage.driver = "s3" needs storage.s3.bucket');
  const region = config.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
  const endpoint = (config.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || `https://s3.${region}.amazonaws.com`).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#]+$/.test(endpoint)) throw new Error(`storage.s3.endpoint "${endpoint}" must be http(s)://host[:port]`);
  const accessKey = config.access_key || env.AWS_ACCESS_KEY_ID || "";
  const secretKey = config.secret_key || env.AWS_SECRET_ACCESS_KEY || "";
  if (accessKey === "" || secretKey === "") {
    throw new Error("storage.s3 needs credentials: access_key and secret_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return {
    bucket: config.bucket,
    region,
    endpoint,
    accessKey,
    secretKey,
    prefix: config.prefix.replace(/^\/+|\/+$/g, ""),
    pathStyle: config.force_path_style,
    chunkSize: config.chunk_size,
    redirect,
  };
}
