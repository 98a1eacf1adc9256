/**
 * What the allow-net proxy's protocols share (src/net/): a bounded reader of a client's request, writing whole
 * buffers, a two-way tunnel with half-closes, and the {@link ProxyContext} through which a protocol asks the proxy
 * to open a connection (the decision, the resolution and the connect happen there, in proxy.ts).
 *
 * @module
 */
import type { NetRefusal } from "./allow.ts";

/** The most bytes of a request head (HTTP request line and headers, a SOCKS5 request) the proxy holds. */
export const MAX_HEAD = 16 * 1024;

/** The size of each direction's buffer of a tunnel. */
export const PIPE_BUFFER = 16 * 1024;

/**
 * The outcome of asking for a connection: the open upstream, a refusal (recorded already), or a failure to
 * resolve or connect (not a refusal: the policy allowed it).
 *
 * @example
 * ```ts
 * const r: import("./proxy_io.ts").OpenResult = { ok: false, kind: "failed", status: "resolve", message: "no such name" };
 * console.log(r.ok);
 * ```
 */
export type OpenResult =
  | { ok: true; conn: Deno.Conn; address: string }
  | { ok: false; kind: "refused"; refusal: NetRefusal }
  | { ok: false; kind: "failed"; status: "resolve" | "connect" | "timeout"; message: string };

/**
 * What a protocol handler may ask of the proxy for one client connection.
 *
 * @example
 * ```ts ignore
 * const r = await ctx.open("registry.test", 443, "connect");
 * if (r.ok) await tunnel(client, r.conn, leftover);
 * ```
 */
export interface ProxyContext {
  /** Decides on `host`:`port`, resolves it on the host side and connects; the upstream is closed with the client. */
  open(host: string, port: number, protocol: NetRefusal["protocol"]): Promise<OpenResult>;
  /** Records a refusal the protocol itself made (a request the proxy does not forward). */
  refuse(host: string, port: number, protocol: NetRefusal["protocol"], rule: string, reason: string): void;
  /** The request head was read: its deadline no longer applies. */
  headDone(): void;
}

/**
 * A client connection's bytes, read into one buffer of {@link MAX_HEAD} bytes: a request that does not fit is
 * refused rather than held.
 *
 * @example
 * ```ts ignore
 * const inbound = new Inbound(conn);
 * if (await inbound.need(2)) console.log(inbound.data[0]);
 * ```
 */
export class Inbound {
  #buf = new Uint8Array(MAX_HEAD);
  #start = 0;
  #end = 0;
  /** Wraps the client's connection. */
  constructor(readonly conn: Deno.Conn) {}

  /** The bytes read and not consumed. */
  get data(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  /** Whether the buffer is full (nothing more can be read before some is consumed). */
  get full(): boolean {
    return this.#start === 0 && this.#end === this.#buf.length;
  }

  /** Drops the first `n` bytes of {@link Inbound.data}. */
  consume(n: number): void {
    this.#start = Math.min(this.#end, this.#start + n);
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  /** Reads more; false at the end of the stream or when the buffer is full. */
  async more(): Promise<boolean> {
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) return false;
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    return true;
  }

  /** Reads until at least `n` bytes are there; false when the stream ends first. */
  async need(n: number): Promise<boolean> {
    while (this.data.length < n) if (!(await this.more())) return false;
    return true;
  }

  /** The next line ending in CRLF (without it), consumed; throws at the end of the stream or past the buffer. */
  async line(): Promise<string> {
    for (;;) {
      const d = this.data;
      for (let i = 0; i + 1 < d.length; i++) {
        if (d[i] === 13 && d[i + 1] === 10) {
          const text = latin1(d.subarray(0, i));
          this.consume(i + 2);
          return text;
        }
      }
      if (!(await this.more())) throw new Error("the request ended inside a line (or the line is too long)");
    }
  }
}

/**
 * Bytes as Latin-1 text: one character a byte, as HTTP heads are read.
 *
 * @example
 * ```ts
 * import { latin1 } from "./proxy_io.ts";
 * console.log(latin1(new Uint8Array([72, 105]))); // Hi
 * ```
 */
export function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/**
 * Text (Latin-1, as {@link latin1} reads it) as bytes.
 *
 * @example
 * ```ts
 * import { bytesOf } from "./proxy_io.ts";
 * console.log(bytesOf("Hi")); // Uint8Array(2) [72, 105]
 * ```
 */
export function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/**
 * Writes every byte of `data` to `conn`.
 *
 * @example
 * ```ts ignore
 * await writeAll(conn, new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\n"));
 * ```
 */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

/**
 * Copies `from` to `to` through one buffer of {@link PIPE_BUFFER} bytes until `from` ends, then half-closes `to`
 * (its peer reads the end; the other direction goes on).
 *
 * @example
 * ```ts ignore
 * await pipe(upstream, client);
 * ```
 */
export async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(PIPE_BUFFER);
  for (;;) {
    const n = await from.read(buf);
    if (n === null) break;
    await writeAll(to, buf.subarray(0, n));
  }
  await to.closeWrite().catch(() => {});
}

/**
 * Joins two connections both ways (after `leftover`, bytes the client sent past its request, goes upstream) until
 * both directions ended, or either failed.
 *
 * @example
 * ```ts ignore
 * await tunnel(client, upstream, inbound.data);
 * ```
 */
export async function tunnel(client: Deno.Conn, upstream: Deno.Conn, leftover: Uint8Array): Promise<void> {
  if (leftover.length) await writeAll(upstream, leftover.slice());
  await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
}
