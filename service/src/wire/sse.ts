/**
 * Splits a server-sent-events byte stream into the `data` payloads of its events. Vertex frames end with CRLF CRLF;
 * the SDKs also accept LF LF and CR CR, so do we. Multi-line data fields are joined with LF (per the SSE spec).
 */
import { StringDecoder } from "node:string_decoder";

const FRAME_END = /\r\n\r\n|\n\n|\r\r/;

export class SseParser {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";

  /** Feeds bytes; returns the payloads of the events completed by them. */
  push(chunk: Buffer): string[] {
    this.pending += this.decoder.write(chunk);
    const out: string[] = [];
    for (let m = FRAME_END.exec(this.pending); m; m = FRAME_END.exec(this.pending)) {
      const frame = this.pending.slice(0, m.index);
      this.pending = this.pending.slice(m.index + m[0].length);
      const data = dataOf(frame);
      if (data !== undefined) out.push(data);
    }
    return out;
  }

  /** At end of stream: a last event not followed by a blank line still counts. */
  end(): string[] {
    this.pending += this.decoder.end();
    const data = this.pending.trim() ? dataOf(this.pending) : undefined;
    this.pending = "";
    return data === undefined ? [] : [data];
  }
}

function dataOf(frame: string): string | undefined {
  let data: string | undefined;
  for (const line of frame.split(/\r\n|\n|\r/)) {
    if (!line.startsWith("data:")) continue; // comments (":"), event/id/retry fields carry nothing for Gemini
    const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5);
    data = data === undefined ? value : `${data}\n${value}`;
  }
  return data;
}
