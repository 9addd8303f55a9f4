/**
 * An HTTP proxy in front of the tests' Ceph RGW that can be told to fail: while `failing`, every
 * request is answered as an overloaded S3 service answers (503 with the S3 error document,
 * code SlowDown), otherwise forwarded as it came (the Host header kept: the client signed it).
 * A test double that speaks the real protocol, for what Ceph cannot be made to do on demand.
 */
export interface S3FaultProxy {
  /** http://127.0.0.1:PORT, the endpoint Berth is given */
  endpoint: string;
  failing: boolean;
  /** requests answered with the fault */
  refused: number;
  stop(): void;
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>berth-test</RequestId></Error>`;

export function startS3FaultProxy(upstream: string): S3FaultProxy {
  const target = new URL(upstream);
  const proxy: S3FaultProxy = { endpoint: "", failing: false, refused: 0, stop: () => server.stop(true) };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 120,
    async fetch(request) {
      if (proxy.failing) {
        proxy.refused++;
        await request.arrayBuffer().catch(() => undefined);
        return new Response(request.method === "HEAD" ? null : SLOW_DOWN, { status: 503, headers: { "content-type": "application/xml" } });
      }
      const url = new URL(request.url);
      url.protocol = target.protocol;
      url.host = target.host;
      const headers = new Headers(request.headers);
      const hasBody = request.method !== "GET" && request.method !== "HEAD";
      const answer = await fetch(url, {
        method: request.method,
        headers,
        redirect: "manual",
        decompress: false,
        ...(hasBody ? { body: await request.arrayBuffer() } : {}),
      });
      const out = new Headers(answer.headers);
      out.delete("content-encoding");
      return new Response(request.method === "HEAD" ? null : answer.body, { status: answer.status, headers: out });
    },
  });
  proxy.endpoint = `http://127.0.0.1:${server.port}`;
  return proxy;
}
