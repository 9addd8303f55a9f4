/**
 * SIGTERM stops accepting and lets the requests in flight finish: a layer whose upload is
 * streaming when the signal comes is stored and answered 201, then the process exits 0.
 */
import { expect } from "bun:test";
import { call, randomBytes, sha256 } from "../helpers/oci.ts";
import { removeDir, serverSuite, startBerth, tempDir, waitForOutput } from "../helpers/server.ts";

const { servers, cleanups, test } = serverSuite();

test("a push in flight when SIGTERM comes completes, and the blob is there after a restart", async () => {
  const root = tempDir("berth-sigterm-");
  cleanups.push(async () => removeDir(root));
  const berth = await servers.started(startBerth({ root }));
  const layer = randomBytes(4 * 1024 * 1024);
  const digest = sha256(layer);
  const started = await call(berth.url, "/v2/term/app/blobs/uploads/", { method: "POST" });
  expect(started.status).toBe(202);
  const location = new URL(started.headers.get("location") ?? "", berth.url);
  location.searchParams.set("digest", digest);
  // the body trickles: half, then SIGTERM, then the rest
  let signalled!: () => void;
  const signalSent = new Promise<void>((resolve) => (signalled = resolve));
  const half = layer.byteLength / 2;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(layer.subarray(0, half));
      await Bun.sleep(300);
      berth.proc.kill("SIGTERM");
      signalled();
      await Bun.sleep(500);
      controller.enqueue(layer.subarray(half));
      controller.close();
    },
  });
  const put = fetch(location, { method: "PUT", body, headers: { "Content-Type": "application/octet-stream", "Content-Length": String(layer.byteLength) } });
  await signalSent;
  const answer = await put;
  expect(answer.status).toBe(201);
  expect(await berth.proc.exited).toBe(0);
  expect(await waitForOutput(berth, "stopped signal=SIGTERM")).toContain("shutting down signal=SIGTERM");

  const again = await servers.started(startBerth({ root }));
  const head = await call(again.url, `/v2/term/app/blobs/${digest}`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-length")).toBe(String(layer.byteLength));
});
