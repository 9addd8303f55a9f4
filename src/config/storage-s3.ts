/** [storage.s3]: the S3 driver's keys (read when storage.driver = "s3"; src/storage/s3/settings.ts). */
import { Type } from "@sinclair/typebox";

export const S3Schema = Type.Object(
  {
    bucket: Type.String({ default: "", description: "the bucket (it must exist)" }),
    region: Type.String({ default: "", description: 'the bucket\'s region; "" = AWS_REGION, else us-east-1' }),
    endpoint: Type.String({
      default: "",
      description: 'http(s)://host[:port] of an S3-compatible service (Ceph RGW, MinIO); "" = AWS_ENDPOINT_URL, else AWS S3 in the region',
    }),
    access_key: Type.String({ default: "", description: '"" = AWS_ACCESS_KEY_ID' }),
    secret_key: Type.String({ default: "", description: '"" = AWS_SECRET_ACCESS_KEY' }),
    prefix: Type.String({ default: "", description: "key prefix: objects are stored under <prefix>/docker/registry/v2/..., as Distribution's S3 driver with rootdirectory" }),
    force_path_style: Type.Boolean({ default: false, description: "path-style URLs (endpoint/bucket/key): needed by most S3-compatible services on an IP or without wildcard DNS" }),
    chunk_size: Type.Integer({
      default: 10 * 1024 * 1024,
      minimum: 4096,
      description: "multipart part size in bytes (S3 requires at least 5 MiB; an upload holds at most 10,000 parts)",
    }),
  },
  { default: {}, additionalProperties: false },
);
