/**
 * The number of body bytes a response sends, for the access log. Bun sizes string and buffer
 * bodies itself without declaring Content-Length in the Response's headers, so a declared
 * length is used when there is one (blobs, manifests) and any other body is counted as it
 * streams out (JSON answers; Bun still sends a short body with a Content-Length).
 */

/**
 * Calls `report` once with the body size: at once for a declared length or no body (HEAD,
 * 204, 304), else when the body has been sent or the client went away.
 * @returns the response to send (a copy reading through a counter, when counting)
 */
export function reportBodySize(response: Response, method: string, report: (bytes: number) => void): Response {
  if (method === "HEAD" || response.status === 204 || response.status === 304) {
    report(0);
    return response;
  }
  // the declared length first: reading `body` makes a stream object even for a buffered body
  const declared = response.headers.get("content-length");
  if (declared !== null && /^\d{1,15}$/.test(declared)) {
    report(Number(declared));
    return response;
  }
  if (response.body === null) {
    report(0);
    return response;
  }
  return new Response(counted(response.body, report), { status: response.status, statusText: response.statusText, headers: response.headers });
}

function counted(body: ReadableStream<Uint8Array>, report: (bytes: number) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let reported = false;
  const finish = () => {
    if (reported) return;
    reported = true;
    report(bytes);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          finish();
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason);
    },
  });
}
