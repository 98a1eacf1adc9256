/**
 * The SOCKS5 side of the allow-net proxy (src/net/, RFC 1928): no authentication, the CONNECT command only, to a
 * name (what `ALL_PROXY=socks5h://...` sends: the proxy resolves it) or an address. BIND and UDP ASSOCIATE are
 * refused (UDP never leaves the sandbox) and recorded.
 *
 * @module
 */
import { formatAddress } from "./allow.ts";
import { type Inbound, latin1, type ProxyContext, tunnel, writeAll } from "./proxy_io.ts";

/** SOCKS5 reply codes (RFC 1928 section 6). */
export const SOCKS_REPLY = {
  SUCCEEDED: 0,
  GENERAL_FAILURE: 1,
  NOT_ALLOWED: 2,
  HOST_UNREACHABLE: 4,
  CONNECTION_REFUSED: 5,
  TTL_EXPIRED: 6,
  COMMAND_NOT_SUPPORTED: 7,
  ADDRESS_TYPE_NOT_SUPPORTED: 8,
} as const;

/** A reply with an empty IPv4 bound address (clients do not use it for CONNECT). */
function reply(code: number): Uint8Array {
  return new Uint8Array([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/**
 * A parsed SOCKS5 request: the command, the host (a name, or an address in canonical text, IPv6 in brackets)
 * and the port, with the request's length; "short" when more bytes are needed; an Error when malformed.
 *
 * @example
 * ```ts
 * import { parseSocksRequest } from "./proxy_socks.ts";
 * const req = new Uint8Array([5, 1, 0, 3, 6, ...new TextEncoder().encode("a.test"), 1, 187]);
 * console.log(parseSocksRequest(req)); // { command: 1, host: "a.test", port: 443, length: 13 }
 * ```
 */
export function parseSocksRequest(
  d: Uint8Array,
): { command: number; host: string; port: number; length: number } | "short" | Error {
  if (d.length < 5) return "short";
  if (d[0] !== 5 || d[2] !== 0) return new Error("not a SOCKS5 request");
  let at: number, host: string;
  switch (d[3]) {
    case 1:
      at = 4 + 4;
      if (d.length < at + 2) return "short";
      host = formatAddress(d.slice(4, 8));
      break;
    case 4:
      at = 4 + 16;
      if (d.length < at + 2) return "short";
      host = `[${formatAddress(d.slice(4, 20))}]`;
      break;
    case 3:
      at = 5 + d[4];
      if (d[4] === 0) return new Error("an empty domain name");
      if (d.length < at + 2) return "short";
      host = latin1(d.subarray(5, at));
      break;
    default:
      return new Error(`address type ${d[3]} is not SOCKS5's`);
  }
  return { command: d[1], host, port: (d[at] << 8) | d[at + 1], length: at + 2 };
}

/**
 * Serves one SOCKS5 client: the greeting (no authentication), the request, the proxy's decision, the reply, then
 * the tunnel.
 *
 * @example
 * ```ts ignore
 * await serveSocks(ctx, new Inbound(conn));
 * ```
 */
export async function serveSocks(ctx: ProxyContext, inbound: Inbound): Promise<void> {
  const conn = inbound.conn;
  if (!(await inbound.need(2)) || !(await inbound.need(2 + inbound.data[1]))) return;
  const methods = inbound.data.subarray(2, 2 + inbound.data[1]);
  const noAuth = methods.includes(0);
  inbound.consume(2 + methods.length);
  await writeAll(conn, new Uint8Array([5, noAuth ? 0 : 0xff]));
  if (!noAuth) return;
  let req;
  while ((req = parseSocksRequest(inbound.data)) === "short") if (!(await inbound.more())) return;
  ctx.headDone();
  if (req instanceof Error) return writeAll(conn, reply(SOCKS_REPLY.GENERAL_FAILURE));
  inbound.consume(req.length);
  if (req.command !== 1) {
    // BIND (2) and UDP ASSOCIATE (3): nothing but CONNECT leaves the sandbox.
    const what = req.command === 3 ? "UDP ASSOCIATE" : req.command === 2 ? "BIND" : `command ${req.command}`;
    ctx.refuse(req.host, req.port, "socks5", "unsupported", `SOCKS5 ${what}: only CONNECT is forwarded`);
    return writeAll(conn, reply(SOCKS_REPLY.COMMAND_NOT_SUPPORTED));
  }
  const r = await ctx.open(req.host, req.port, "socks5");
  if (!r.ok) {
    const code = r.kind === "refused"
      ? SOCKS_REPLY.NOT_ALLOWED
      : r.status === "resolve"
      ? SOCKS_REPLY.HOST_UNREACHABLE
      : r.status === "timeout"
      ? SOCKS_REPLY.TTL_EXPIRED
      : SOCKS_REPLY.CONNECTION_REFUSED;
    return writeAll(conn, reply(code));
  }
  await writeAll(conn, reply(SOCKS_REPLY.SUCCEEDED));
  await tunnel(conn, r.conn, inbound.data);
}
