// The proxy on its own: a unix socket in a temp directory, upstream servers on 127.0.0.1, names from a hosts text.
import assert from "node:assert/strict";
import { parseAllowNet } from "./allow.ts";
import { NetProxy } from "./proxy.ts";
import { hostsResolver } from "./resolve.ts";
import { forwardRequest, parseRequestHead, splitHostPort } from "./proxy_http.ts";
import { parseSocksRequest } from "./proxy_socks.ts";

const enc = new TextEncoder(), dec = new TextDecoder();

/** An upstream that answers with what it saw: method, path, Host and body. */
function upstream() {
  const seen: string[] = [];
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = await req.text();
    seen.push(`${req.method} ${url.pathname} ${req.headers.get("host")}`);
    return new Response(`${req.method} ${url.pathname} host=${req.headers.get("host")} body=${body}`);
  });
  return { port: server.addr.port, seen, stop: async () => (ac.abort(), await server.finished) };
}

async function withProxy(
  allow: (port: number) => string,
  fn: (ctx: { port: number; socket: string; proxy: NetProxy; seen: string[] }) => Promise<void>,
) {
  const up = upstream();
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-proxy-test-" });
  const proxy = NetProxy.listen({
    rules: parseAllowNet(allow(up.port), "test"),
    socket: `${dir}/net.sock`,
    resolver: hostsResolver("127.0.0.1 registry.test other.test\n", "test hosts"),
  });
  try {
    await fn({ port: up.port, socket: `${dir}/net.sock`, proxy, seen: up.seen });
  } finally {
    await proxy.close();
    await up.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends `data` on a new connection to the socket and reads until the proxy or the server closes. */
async function exchange(socket: string, data: Uint8Array | string, after?: (c: Deno.Conn) => Promise<void>) {
  const c = await Deno.connect({ transport: "unix", path: socket });
  try {
    await c.write(typeof data === "string" ? enc.encode(data) : data);
    if (after) await after(c);
    const parts: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (let n; (n = await c.read(buf)) !== null;) parts.push(buf.slice(0, n));
    return dec.decode(new Uint8Array(parts.flatMap((p) => [...p])));
  } finally {
    c.close();
  }
}

async function readSome(c: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n;) {
    const got = await c.read(out.subarray(at));
    if (got === null) throw new Error(`closed after ${at} of ${n} bytes`);
    at += got;
  }
  return out;
}

Deno.test("proxy: a plain request goes to the allowed name alone, with the Host it was decided on", async () => {
  await withProxy((p) => `registry.test:${p},127.0.0.1:${p}`, async ({ port, socket, seen, proxy }) => {
    const r = await exchange(socket, `GET http://registry.test:${port}/a HTTP/1.1\r\nHost: other.test\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 200 /);
    assert.ok(r.endsWith(`GET /a host=registry.test:${port} body=`), r);
    // A second request behind the first on the same connection never reaches the server.
    const two =
      `GET http://registry.test:${port}/1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nHost: other.test:${port}\r\n\r\n`;
    assert.match(await exchange(socket, two), /GET \/1 /);
    assert.deepEqual(seen.map((s) => s.split(" ")[1]), ["/a", "/1"]);
    // Bodies by length and chunked.
    const post = `POST http://registry.test:${port}/p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello`;
    assert.ok((await exchange(socket, post)).endsWith("body=hello"));
    const chunked = `PUT http://registry.test:${port}/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n` +
      "3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\n\r\n";
    assert.ok((await exchange(socket, chunked)).endsWith("body=abcdefg"));
    assert.equal(proxy.refused.length, 0);
  });
});

Deno.test("proxy: CONNECT and SOCKS5 tunnel to an allowed name; refusals are answered and recorded", async () => {
  await withProxy((p) => `registry.test:${p},127.0.0.1:${p}`, async ({ port, socket, proxy }) => {
    const viaConnect = await exchange(socket, `CONNECT registry.test:${port} HTTP/1.1\r\n\r\n`, async (c) => {
      assert.equal(dec.decode(await readSome(c, 39)), "HTTP/1.1 200 Connection Established\r\n\r\n");
      await c.write(enc.encode(`GET /t HTTP/1.1\r\nHost: registry.test\r\nConnection: close\r\n\r\n`));
    });
    assert.ok(viaConnect.endsWith("GET /t host=registry.test body="), viaConnect);
    const name = enc.encode("registry.test");
    const socks = new Uint8Array([5, 1, 0, 5, 1, 0, 3, name.length, ...name, port >> 8, port & 0xff]);
    const viaSocks = await exchange(socket, socks, async (c) => {
      assert.deepEqual([...await readSome(c, 2)], [5, 0]);
      assert.deepEqual([...await readSome(c, 10)], [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
      await c.write(enc.encode(`GET /s HTTP/1.1\r\nHost: registry.test\r\nConnection: close\r\n\r\n`));
    });
    assert.ok(viaSocks.endsWith("GET /s host=registry.test body="), viaSocks);

    const refused = await exchange(socket, `CONNECT other.test:${port} HTTP/1.1\r\n\r\n`);
    assert.match(refused, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(refused, /X-Hakoniwa-Refused: default-deny\r\n/);
    assert.match(refused, /refused other\.test:\d+: no allow-net entry names other\.test/);
    const otherName = enc.encode("other.test");
    const socksRefused = new Uint8Array([5, 1, 0, 5, 1, 0, 3, otherName.length, ...otherName, 0, 80]);
    assert.deepEqual([...enc.encode(await exchange(socket, socksRefused))], [5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
    const udp = new Uint8Array([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.deepEqual([...enc.encode(await exchange(socket, udp))], [5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
    const plainPort = await exchange(socket, `GET http://registry.test:1/ HTTP/1.1\r\n\r\n`);
    assert.match(plainPort, /X-Hakoniwa-Refused: registry\.test:\d+\r\n/);
    assert.deepEqual(
      proxy.refused.map((r) => [r.host, r.port, r.protocol, r.rule]),
      [
        ["other.test", port, "connect", "default-deny"],
        ["other.test", 80, "socks5", "default-deny"],
        ["0.0.0.0", 0, "socks5", "unsupported"],
        ["registry.test", 1, "http", `registry.test:${port}`],
      ],
    );
    assert.ok(proxy.refused.every((r) => r.time instanceof Date && r.reason.length > 0));
  });
});

Deno.test("proxy: a name resolving to a loopback address is refused unless the address is listed", async () => {
  await withProxy((p) => `registry.test:${p}`, async ({ port, socket, proxy, seen }) => {
    const r = await exchange(socket, `GET http://registry.test:${port}/ HTTP/1.1\r\n\r\n`);
    assert.match(r, /^HTTP\/1\.1 403 /);
    assert.match(r, /X-Hakoniwa-Refused: private-address/);
    assert.match(r, /resolves to 127\.0\.0\.1, a loopback address no allow-net entry lists/);
    assert.equal(proxy.refused[0].rule, "private-address");
    // Nor can the address be asked for by itself.
    assert.match(await exchange(socket, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`), /default-deny/);
    assert.deepEqual(seen, []);
  });
});

Deno.test("proxy: malformed and oversized requests get 400 and 431; the proxy goes on", async () => {
  await withProxy((p) => `registry.test:${p},127.0.0.1:${p}`, async ({ port, socket }) => {
    assert.match(await exchange(socket, "GET http://registry.test/\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.match(await exchange(socket, "GET https://registry.test/ HTTP/1.1\r\n\r\n"), /400 .*CONNECT/s);
    assert.match(await exchange(socket, "GET / HTTP/1.1\r\n\r\n"), /400 .*Host header/s);
    assert.match(
      await exchange(
        socket,
        `POST http://registry.test:${port}/ HTTP/1.1\r\nContent-Length: 1\r\n` +
          "Transfer-Encoding: chunked\r\n\r\n",
      ),
      /400 .*both Content-Length and Transfer-Encoding/s,
    );
    assert.match(await exchange(socket, `GET /x HTTP/1.1\r\nX: ${"a".repeat(20000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
    assert.match(await exchange(socket, `GET http://registry.test:${port}/ok HTTP/1.1\r\n\r\n`), /200 OK/);
  });
});

Deno.test("proxy: close() ends every connection it holds, idle tunnels included", async () => {
  const before = [...Deno.readDirSync("/proc/self/fd")].length;
  await withProxy((p) => `registry.test:${p},127.0.0.1:${p}`, async ({ port, socket, proxy }) => {
    const idle: Deno.Conn[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await Deno.connect({ transport: "unix", path: socket });
      await c.write(enc.encode(`CONNECT registry.test:${port} HTTP/1.1\r\n\r\n`));
      await readSome(c, 39);
      idle.push(c);
    }
    assert.equal(proxy.stats.active, 5);
    await proxy.close();
    assert.equal(proxy.stats.active, 0);
    for (const c of idle) {
      assert.equal(await c.read(new Uint8Array(1)), null);
      c.close();
    }
  });
  assert.equal([...Deno.readDirSync("/proc/self/fd")].length, before);
});

Deno.test("request parsing: heads, authorities and SOCKS5 requests", () => {
  assert.ok(parseRequestHead(enc.encode("GET / HTTP/1.1\nHost: a\r\n\r\n")) instanceof Error);
  assert.ok(parseRequestHead(enc.encode("GET / HTTP/1.1\r\n folded\r\n\r\n")) instanceof Error);
  assert.ok(parseRequestHead(enc.encode("GET / HTTP/2\r\n\r\n")) instanceof Error);
  assert.deepEqual(splitHostPort("a.test:0", null), null);
  assert.deepEqual(splitHostPort("a.test", null), null);
  assert.deepEqual(splitHostPort("::1:80", 80), null);
  const req = forwardRequest({
    method: "GET",
    target: "http://[::1]:8080/x",
    headers: [["Connection", "keep-alive, X-Secret"], ["X-Secret", "1"], ["Proxy-Authorization", "p"], ["A", "b"]],
  });
  assert.ok(!(req instanceof Error));
  assert.equal(req.head, "GET /x HTTP/1.1\r\nHost: [::1]:8080\r\nA: b\r\nConnection: close\r\n\r\n");
  assert.ok(forwardRequest({ method: "GET", target: "http://u@a.test/", headers: [] }) instanceof Error);
  assert.equal(parseSocksRequest(new Uint8Array([5, 1, 0, 3, 6, 97])), "short");
  assert.deepEqual(parseSocksRequest(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, 0, 80])), {
    command: 1,
    host: "127.0.0.1",
    port: 80,
    length: 10,
  });
  assert.ok(parseSocksRequest(new Uint8Array([5, 1, 0, 9, 0])) instanceof Error);
});
