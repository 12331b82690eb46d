/**
 * HTTP/2 to one upstream origin (GATEWAY_UPSTREAM_PROTOCOL=http2): upstream calls go as streams over a few
 * connections, each filled up to H2_STREAMS_PER_CONNECTION before the next is opened, so 10,000 calls in flight hold
 * about 100 sockets instead of 10,000 (docs/decisions/0031-http2-upstream.md).
 *
 * Why not undici's Agent/Pool with `allowH2`: a Pool opens a new connection whenever its existing ones are busy, and a
 * connection still handshaking counts as busy, so a burst of N calls opens N connections (measured: 300 concurrent
 * calls, 201–300 connections). Filling in order here keeps it at ceil(N / 100).
 *
 * - https (Vertex AI, OpenAI-compatible servers): undici `Client`s with `allowH2` (ALPN offers h2 and http/1.1). The
 *   first connection probes: calls arriving during its handshake wait here (not on a connection, where they could not
 *   move if it turned out to be HTTP/1.1), so a cold burst opens one connection, not one per call. Once ALPN chose h2
 *   every connection to the origin carries up to 100 streams. A server that picks http/1.1 gets one call per
 *   connection (never HTTP/1.1 pipelining of POSTs), as with GATEWAY_UPSTREAM_PROTOCOL=http1, logged once (`onHttp1`).
 * - http (the emulator, a sidecar): undici's `H2CClient`, HTTP/2 with prior knowledge (h2c, no upgrade dance).
 *
 * Timeouts are undici's per-stream headersTimeout/bodyTimeout and the connect timeout, as with HTTP/1.1; an aborted
 * call resets its stream (RST_STREAM) and leaves the connection to the other calls.
 */
import { buildConnector, Client, Dispatcher, H2CClient } from "undici";

export interface H2ConnectionsOptions {
  /** `https://host[:port]` or `http://host[:port]` (h2c). */
  origin: string;
  /** Upstream calls in flight at most (the connection slots): bounds the connections opened, also over HTTP/1.1. */
  maxCalls: number;
  streamsPerConnection: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Told once when an https origin answered ALPN with http/1.1 (its calls then get a connection each). */
  onHttp1?: ((origin: string) => void) | undefined;
  /** A CA to trust besides the system's (PEM): tests' self-signed servers. */
  ca?: string | undefined;
}

/** What the origin speaks, as the first ALPN answer said (h2c origins: h2 from the start). */
type Protocol = "unknown" | "h2" | "http/1.1";

export class H2Connections extends Dispatcher {
  private readonly clients: Client[] = [];
  /** Index of the connection the last call went on: the search for room starts there. */
  private cursor = 0;
  private protocol: Protocol;
  private readonly maxClients: number;
  /** A connection is finding out the origin's protocol: calls wait in `waiting` until it knows (or fails). */
  private probing = false;
  private waiting: { opts: Dispatcher.DispatchOptions; handler: Dispatcher.DispatchHandler }[] = [];

  constructor(private readonly o: H2ConnectionsOptions) {
    super();
    const h2c = new URL(o.origin).protocol === "http:";
    this.protocol = h2c ? "h2" : "unknown";
    // With h2 at most ceil(maxCalls / streams) are ever opened (the slots bound the calls); the bound only matters
    // for an https origin that turned out to speak HTTP/1.1, which needs a connection per call.
    this.maxClients = Math.max(1, o.maxCalls);
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    // undici's HTTP/2 client does not open a second stream for a request it considers non-idempotent (a POST) while
    // another is running on the connection (client-h2.js busy()): every model call would get its own connection
    // again. The flag changes nothing else here: undici retries nothing on its own, and with one call per HTTP/1.1
    // connection (pipelining 1) there is nothing to pipeline behind.
    const opts = options.idempotent ? options : { ...options, idempotent: true };
    if (this.protocol === "unknown") {
      if (this.probing) {
        // A call aborted meanwhile is refused when dispatched: undici hands the handler its abort then.
        this.waiting.push({ opts, handler });
        return true;
      }
      this.probing = true;
    }
    return this.pick().dispatch(opts, handler);
  }

  /** The probe learned the protocol, or its connection failed: the calls that waited go now. */
  private probed(): void {
    if (!this.probing) return;
    this.probing = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) this.dispatch(w.opts, w.handler);
  }

  /** Hands every waiting call to a connection, so none is left waiting for a probe that will not finish. */
  private release(): void {
    this.probing = false;
    for (const w of this.waiting.splice(0)) this.pick().dispatch(w.opts, w.handler);
  }

  /** The first connection, from the cursor on, with room for another stream; a new one when none has. */
  private pick(): Client {
    const n = this.clients.length;
    for (let i = 0; i < n; i++) {
      const at = (this.cursor + i) % n;
      const client = this.clients[at]!;
      if (client.stats.size < client.pipelining) {
        this.cursor = at;
        return client;
      }
    }
    if (n < this.maxClients) {
      const client = this.open();
      this.clients.push(client);
      this.cursor = n;
      return client;
    }
    return this.clients[this.cursor]!; // every slot's call still counted by undici for a moment: it queues there
  }

  private open(): Client {
    const streams = this.o.streamsPerConnection;
    const common = {
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      keepAliveTimeout: 30_000,
      maxConcurrentStreams: streams,
    };
    if (this.protocol === "h2" && this.o.origin.startsWith("http:")) {
      // H2CClient is a Client at run time (h2c-client.js extends it); its typings leave out `stats`.
      return new H2CClient(this.o.origin, {
        ...common,
        pipelining: streams,
        connect: { timeout: this.o.connectTimeoutMs },
      }) as unknown as Client;
    }
    const connector = buildConnector({
      allowH2: true,
      timeout: this.o.connectTimeoutMs,
      ...(this.o.ca ? { ca: this.o.ca } : {}),
    });
    const client: Client = new Client(this.o.origin, {
      ...common,
      allowH2: true,
      pipelining: this.protocol === "h2" ? streams : 1,
      // Learns the protocol ALPN chose for the connection before undici sets it up.
      connect: (opts, callback) =>
        connector(opts, (err, socket) => {
          if (socket) this.learned((socket as { alpnProtocol?: string | false }).alpnProtocol, client);
          callback(err, socket as never);
        }),
    });
    // A probe that could not connect (refused, TLS error, connect timeout): let the waiting calls try their own.
    if (this.protocol === "unknown") client.on("connectionError", () => this.probed());
    return client;
  }

  private learned(alpn: string | false | undefined, client: Client): void {
    if (alpn === "h2") {
      if (this.protocol !== "h2") {
        this.protocol = "h2";
        for (const c of this.clients) c.pipelining = this.o.streamsPerConnection;
      }
      client.pipelining = this.o.streamsPerConnection;
    } else {
      client.pipelining = 1;
      if (this.protocol === "unknown") {
        this.protocol = "http/1.1";
        this.o.onHttp1?.(this.o.origin);
      }
    }
    this.probed();
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.release(); // closing lets dispatched calls finish
    const done = Promise.all(this.clients.map((c) => c.close())).then(() => undefined);
    if (!callback) return done;
    void done.then(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === "function" ? null : (a ?? null);
    const callback = typeof a === "function" ? a : b;
    this.release(); // destroying fails them with the clients' other calls
    const done = Promise.all(this.clients.map((c) => c.destroy(err))).then(() => undefined);
    if (!callback) return done;
    void done.then(callback);
  }
}
