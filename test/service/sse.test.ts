import { describe, expect, it } from "vitest";
import { SseParser } from "../../service/src/wire/sse.js";

describe("SSE parser", () => {
  it("splits CRLF, LF and CR framed events, across chunk boundaries and inside multi-byte characters", () => {
    const text = 'data: {"a":1}\r\n\r\ndata: {"b":"é"}\n\ndata: {"c":3}\r\r: comment\n\ndata: {"d":4}';
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const p = new SseParser();
      const out: string[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...p.push(bytes.subarray(i, i + size)));
      out.push(...p.end());
      expect(out).toEqual(['{"a":1}', '{"b":"é"}', '{"c":3}', '{"d":4}']);
    }
  });

  it("joins multi-line data fields and ignores other fields", () => {
    const p = new SseParser();
    expect(p.push(Buffer.from("event: x\nid: 1\ndata: [1,\ndata:2]\n\n"))).toEqual(["[1,\n2]"]);
    expect(p.end()).toEqual([]);
  });
});
