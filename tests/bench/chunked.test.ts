/** The bench's chunked-body counter (bench/chunked.ts): payload bytes only, however the frames are cut. */
import { describe, expect, test } from "bun:test";
import { ChunkedCounter } from "../../bench/chunked.ts";

const body = Buffer.from("5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n", "latin1");

describe("ChunkedCounter", () => {
  test("counts the payload of a whole body and sees its end", () => {
    const counter = new ChunkedCounter();
    counter.feed(body);
    expect(counter.bytes).toBe(5 + 26);
    expect(counter.done).toBe(true);
  });

  test("the same, fed one byte at a time; not done before the last CRLF", () => {
    const counter = new ChunkedCounter();
    for (let i = 0; i < body.length; i++) {
      expect(counter.done).toBe(false);
      counter.feed(body.subarray(i, i + 1));
    }
    expect(counter.bytes).toBe(31);
    expect(counter.done).toBe(true);
  });

  test("a size line that is not hexadecimal is an error", () => {
    expect(() => new ChunkedCounter().feed(Buffer.from("zz\r\n"))).toThrow('Bad chunk-size line "zz"');
  });
});
