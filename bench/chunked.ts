/**
 * Counts the payload of an HTTP/1.1 chunked body as it arrives, keeping none of it: for blob
 * downloads a server sends without Content-Length (Bun.serve frames a streamed body as chunked
 * even when the handler sets Content-Length: oven-sh/bun#10507; Berth's blobs on S3 are
 * streamed).
 */
export class ChunkedCounter {
  /** payload bytes so far */
  bytes = 0;
  /** the last chunk and the trailer have arrived */
  done = false;
  private state: "size" | "data" | "data-end" | "trailer" = "size";
  private line = "";
  private remaining = 0;

  /** @throws Error on a chunk-size line that is not hexadecimal */
  feed(data: Uint8Array): void {
    let i = 0;
    while (i < data.length && !this.done) {
      if (this.state === "data") {
        const take = Math.min(this.remaining, data.length - i);
        this.bytes += take;
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) {
          this.state = "data-end";
          this.remaining = 2; // the CRLF after the chunk's data
        }
        continue;
      }
      if (this.state === "data-end") {
        const take = Math.min(this.remaining, data.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = "size";
        continue;
      }
      // a line: the chunk size (with optional extensions), or a trailer line
      const newline = data.indexOf(0x0a, i);
      const end = newline < 0 ? data.length : newline;
      this.line += Buffer.from(data.buffer, data.byteOffset + i, end - i).toString("latin1");
      i = end + 1;
      if (newline < 0) return;
      const line = this.line.replace(/\r$/, "");
      this.line = "";
      if (this.state === "trailer") {
        if (line === "") this.done = true;
        continue;
      }
      const size = line.split(";")[0]?.trim() ?? "";
      if (!/^[0-9a-fA-F]{1,15}$/.test(size)) throw new Error(`Bad chunk-size line "${line.slice(0, 40)}"`);
      this.remaining = Number.parseInt(size, 16);
      this.state = this.remaining === 0 ? "trailer" : "data";
    }
  }
}
