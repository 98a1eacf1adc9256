/**
 * The HTTP side of the allow-net proxy (src/net/): `CONNECT host:port` (HTTPS and any other TCP through
 * `HTTPS_PROXY`), a plain request in absolute form (`GET http://host/path`, through `HTTP_PROXY`), and a request in
 * origin form whose `Host` names the destination (a client speaking HTTP straight to the socket).
 *
 * A plain request is forwarded alone: its head is rebuilt with the `Host` the decision was made on and
 * `Connection: close`, exactly its body follows (by `Content-Length` or chunked framing), and the response is
 * relayed until the server closes. Nothing else the client sends on that connection reaches the server, so a
 * second request naming another site of a shared address never gets there.
 *
 * @module
 */
import {
  bytesOf,
  type Inbound,
  latin1,
  MAX_HEAD,
  type OpenResult,
  pipe,
  type ProxyContext,
  tunnel,
  writeAll,
} from "./proxy_io.ts";
import { canonicalHost } from "./allow.ts";

/** A request's first line and headers. */
export interface RequestHead {
  /** The method, as sent. */
  method: string;
  /** The request target, as sent. */
  target: string;
  /** The headers in order, names as sent. */
  headers: [string, string][];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses a request head (the bytes up to and with the blank line); an Error says what is wrong with it. Strict:
 * CRLF line ends only, no folded or control-character headers, HTTP/1.0 or 1.1.
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./proxy_http.ts";
 * const head = parseRequestHead(new TextEncoder().encode("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test\r\n\r\n"));
 * console.log(head instanceof Error ? head.message : head.target); // a.test:443
 * ```
 */
export function parseRequestHead(bytes: Uint8Array): RequestHead | Error {
  const text = latin1(bytes);
  if (!text.endsWith("\r\n\r\n")) return new Error("the head does not end with a blank line");
  const lines = text.slice(0, -4).split("\r\n");
  if (lines.some((l) => /[\r\n\0]/.test(l))) return new Error("a bare CR, LF or NUL in the head");
  const m = /^(\S+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!m || !TOKEN.test(m[1])) {
    return new Error(`not an HTTP/1 request line: ${JSON.stringify(lines[0].slice(0, 200))}`);
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const h = /^([^:\s]+):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!h || !TOKEN.test(h[1]) || hasControl(h[2])) {
      return new Error(`a malformed header line: ${JSON.stringify(line.slice(0, 200))}`);
    }
    headers.push([h[1], h[2]]);
  }
  return { method: m[1], target: m[2], headers };
}

/** Whether a header value has a control character (a tab is allowed). */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f) return true;
  }
  return false;
}

/**
 * Splits `host[:port]` (an IPv6 host in brackets); `defaultPort` when there is no port (null: one is required).
 * Null when malformed.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./proxy_http.ts";
 * console.log(splitHostPort("[::1]:8080", null), splitHostPort("a.test", 80)); // { host: "[::1]", port: 8080 } { host: "a.test", port: 80 }
 * ```
 */
export function splitHostPort(authority: string, defaultPort: number | null): { host: string; port: number } | null {
  let host = authority, port: string | undefined;
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    if (end < 0) return null;
    host = authority.slice(0, end + 1);
    const rest = authority.slice(end + 1);
    if (rest && !rest.startsWith(":")) return null;
    if (rest) port = rest.slice(1);
  } else if (authority.includes(":")) {
    const at = authority.lastIndexOf(":");
    [host, port] = [authority.slice(0, at), authority.slice(at + 1)];
    if (host.includes(":")) return null;
  }
  if (!host) return null;
  if (port === undefined) return defaultPort === null ? null : { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return null;
  return { host, port: Number(port) };
}

/** Headers of one hop only: never forwarded (the Connection header's own list too). */
const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "upgrade",
  "host",
]);

/** How a request's body is framed: none, a length, or chunked. */
export type BodyFraming = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" };

/**
 * A plain request as it goes upstream: where to (host and port as the decision needs them), the rebuilt head and
 * the body's framing; an Error for a request the proxy does not forward.
 *
 * @example
 * ```ts
 * import { forwardRequest } from "./proxy_http.ts";
 * const r = forwardRequest({ method: "GET", target: "http://a.test:8080/x?y", headers: [["Host", "evil.test"]] });
 * console.log(r instanceof Error ? r.message : [r.host, r.port, r.framing.kind]); // ["a.test", 8080, "none"]
 * ```
 */
export function forwardRequest(
  head: RequestHead,
): { host: string; port: number; head: string; framing: BodyFraming } | Error {
  const get = (name: string) => head.headers.filter(([k]) => k.toLowerCase() === name).map(([, v]) => v);
  let authority: string, path: string;
  const absolute = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/.exec(head.target);
  if (absolute) {
    if (absolute[1].toLowerCase() === "https") {
      return new Error("an https:// URL is asked for with CONNECT (HTTPS_PROXY), not as a plain request");
    }
    if (absolute[1].toLowerCase() !== "http") return new Error(`the scheme ${absolute[1]} is not proxied`);
    authority = absolute[2];
    path = absolute[3].startsWith("/") ? absolute[3] : `/${absolute[3]}`;
  } else if (head.target.startsWith("/")) {
    const hosts = get("host");
    if (hosts.length !== 1) return new Error("a request in origin form needs exactly one Host header");
    authority = hosts[0];
    path = head.target;
  } else {
    return new Error(`the request target ${JSON.stringify(head.target.slice(0, 200))} is not proxied`);
  }
  if (authority.includes("@")) return new Error("a URL with user information is not proxied");
  const dest = splitHostPort(authority, 80);
  const h = dest && canonicalHost(dest.host);
  if (!dest || !h) return new Error(`not a host and port: ${JSON.stringify(authority)}`);
  const lengths = get("content-length"), encodings = get("transfer-encoding");
  let framing: BodyFraming = { kind: "none" };
  if (encodings.length) {
    if (lengths.length) return new Error("both Content-Length and Transfer-Encoding");
    if (encodings.length > 1 || encodings[0].toLowerCase() !== "chunked") {
      return new Error(`Transfer-Encoding ${JSON.stringify(encodings.join(", "))} is not forwarded (only chunked)`);
    }
    framing = { kind: "chunked" };
  } else if (lengths.length) {
    if (lengths.some((l) => l !== lengths[0]) || !/^\d{1,15}$/.test(lengths[0])) {
      return new Error("a malformed Content-Length");
    }
    framing = { kind: "length", length: Number(lengths[0]) };
  }
  const named = new Set(get("connection").flatMap((v) => v.split(",").map((t) => t.trim().toLowerCase())));
  const hostHeader = h.kind === "v6" ? `[${h.host}]` : h.host;
  const lines = [
    `${head.method} ${path} HTTP/1.1`,
    `Host: ${dest.port === 80 ? hostHeader : `${hostHeader}:${dest.port}`}`,
    ...head.headers.filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()) && !named.has(k.toLowerCase()))
      .map(([k, v]) => `${k}: ${v}`),
    "Connection: close",
  ];
  return { host: dest.host, port: dest.port, head: `${lines.join("\r\n")}\r\n\r\n`, framing };
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};

/**
 * A short response of the proxy itself, the connection closing after it; `refusedBy` adds
 * `X-Hakoniwa-Refused: RULE`.
 *
 * @example
 * ```ts
 * import { proxyResponse } from "./proxy_http.ts";
 * console.log(proxyResponse(403, "refused", "default-deny").split("\r\n")[0]); // HTTP/1.1 403 Forbidden
 * ```
 */
export function proxyResponse(status: number, message: string, refusedBy?: string): string {
  const body = `hakoniwa: ${message}\n`;
  return [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`,
    "Content-Type: text/plain; charset=utf-8",
    `Content-Length: ${new TextEncoder().encode(body).length}`,
    ...(refusedBy ? [`X-Hakoniwa-Refused: ${refusedBy.replace(/[^\x20-\x7e]/g, "?")}`] : []),
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/** The most bytes, and the longest time, an answered client's unread request is drained before the close. */
const LINGER_BYTES = 256 * 1024, LINGER_MS = 2000;

/**
 * Answers, then half-closes and drains what the client still sends (boundedly): closing a socket with unread
 * bytes resets it, and the client would lose the answer.
 */
async function respond(inbound: Inbound, status: number, message: string, refusedBy?: string): Promise<void> {
  const conn = inbound.conn;
  await writeAll(conn, new TextEncoder().encode(proxyResponse(status, message, refusedBy)));
  await conn.closeWrite().catch(() => {});
  const timer = setTimeout(() => conn.close(), LINGER_MS);
  try {
    const sink = new Uint8Array(16 * 1024);
    for (let n = 0, got; n < LINGER_BYTES && (got = await conn.read(sink)) !== null;) n += got;
  } catch {
    /* closed by the timer, or reset */
  } finally {
    clearTimeout(timer);
  }
}

/** Copies exactly `n` bytes of the client's body upstream, through the inbound buffer. */
async function copyExact(inbound: Inbound, up: Deno.Conn, n: number): Promise<void> {
  while (n > 0) {
    if (!inbound.data.length && !(await inbound.more())) throw new Error("the request body ended early");
    const take = inbound.data.subarray(0, Math.min(n, inbound.data.length));
    await writeAll(up, take);
    inbound.consume(take.length);
    n -= take.length;
  }
}

/** Copies a body in the framing its head gave, and nothing after it. */
async function copyBody(inbound: Inbound, up: Deno.Conn, framing: BodyFraming): Promise<void> {
  if (framing.kind === "length") return copyExact(inbound, up, framing.length);
  if (framing.kind === "none") return;
  for (;;) {
    const line = await inbound.line();
    const size = /^([0-9a-fA-F]{1,15})[ \t]*(;.*)?$/.exec(line);
    if (!size) throw new Error(`a malformed chunk size line: ${JSON.stringify(line.slice(0, 100))}`);
    await writeAll(up, bytesOf(`${line}\r\n`));
    const n = parseInt(size[1], 16);
    if (n === 0) break;
    await copyExact(inbound, up, n);
    if ((await inbound.line()) !== "") throw new Error("a chunk does not end with CRLF");
    await writeAll(up, bytesOf("\r\n"));
  }
  for (;;) { // trailers, then the blank line
    const line = await inbound.line();
    await writeAll(up, bytesOf(`${line}\r\n`));
    if (line === "") return;
  }
}

/**
 * Serves one HTTP client: reads its head (within {@link MAX_HEAD}), asks the proxy for the destination it names,
 * and tunnels (CONNECT) or forwards one request. Refusals and failures get a short response of the proxy's own.
 *
 * @example
 * ```ts ignore
 * await serveHttp(ctx, new Inbound(conn));
 * ```
 */
export async function serveHttp(ctx: ProxyContext, inbound: Inbound): Promise<void> {
  let end = -1;
  for (let from = 0; (end = indexOfBlankLine(inbound.data, from)) < 0;) {
    from = Math.max(0, inbound.data.length - 3);
    if (inbound.full) return respond(inbound, 431, `the request head is longer than ${MAX_HEAD} bytes`);
    if (!(await inbound.more())) return;
  }
  const head = parseRequestHead(inbound.data.subarray(0, end + 4));
  inbound.consume(end + 4);
  ctx.headDone();
  if (head instanceof Error) return respond(inbound, 400, head.message);
  if (head.method === "CONNECT") {
    const dest = splitHostPort(head.target, null);
    if (!dest) return respond(inbound, 400, `CONNECT needs HOST:PORT, got ${JSON.stringify(head.target)}`);
    const r = await ctx.open(dest.host, dest.port, "connect");
    if (!r.ok) return failed(inbound, r);
    await writeAll(inbound.conn, bytesOf("HTTP/1.1 200 Connection Established\r\n\r\n"));
    return tunnel(inbound.conn, r.conn, inbound.data);
  }
  const request = forwardRequest(head);
  if (request instanceof Error) return respond(inbound, 400, request.message);
  const r = await ctx.open(request.host, request.port, "http");
  if (!r.ok) return failed(inbound, r);
  await writeAll(r.conn, bytesOf(request.head));
  // The response ends when the server closes (it was asked to); the caller then closes both sides, ending a body
  // the server did not wait for. A body that fails (the client went away) ends the exchange at once.
  const response = pipe(r.conn, inbound.conn);
  response.catch(() => {});
  await Promise.race([response, copyBody(inbound, r.conn, request.framing).then(() => response)]);
}

function failed(inbound: Inbound, r: Exclude<OpenResult, { ok: true }>): Promise<void> {
  if (r.kind === "refused") {
    return respond(inbound, 403, `refused ${r.refusal.host}:${r.refusal.port}: ${r.refusal.reason}`, r.refusal.rule);
  }
  return respond(inbound, r.status === "timeout" ? 504 : 502, r.message);
}

/** Where the blank line ending a head starts (the index of its CRLFCRLF), searching from `from`; -1 if none. */
function indexOfBlankLine(d: Uint8Array, from: number): number {
  for (let i = from; i + 3 < d.length; i++) {
    if (d[i] === 13 && d[i + 1] === 10 && d[i + 2] === 13 && d[i + 3] === 10) return i;
  }
  return -1;
}
