// Integration tests of --allow-net (src/net/proxy.ts, native/relay.c) and of names under --network pasta. Servers
// listen on 127.0.0.1 in this process; names come from a private hosts file (HAKONIWA_NET_HOSTS); nothing here
// sends a packet to any address but the loopback, in this network namespace or in ones the tests make.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, SKIP_REASON, tempDir, waitFor, WHO } from "./helpers.ts";
import { kissContainer } from "../mod.ts";

const dec = new TextDecoder();

/** An HTTP or HTTPS server on 127.0.0.1 that answers `Host PATH` and counts what it saw and how many at once. */
function server(options: { cert?: string; key?: string; delayMs?: number; body?: string } = {}) {
  const seen: string[] = [];
  let inflight = 0, peak = 0;
  const ac = new AbortController();
  const s = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {}, ...(options.cert ? options : {}) },
    async (req) => {
      inflight++;
      peak = Math.max(peak, inflight);
      try {
        const url = new URL(req.url);
        seen.push(`${url.host} ${url.pathname}`);
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
        return new Response(options.body ?? `hello ${url.host} ${url.pathname}\n`);
      } finally {
        inflight--;
      }
    },
  );
  return { port: s.addr.port, seen, peak: () => peak, stop: async () => (ac.abort(), await s.finished) };
}

/** A directory with the hosts file both names resolve through: two names of one address. */
async function hostsDir(): Promise<string> {
  const dir = await tempDir();
  await Deno.chmod(dir, 0o755);
  await Deno.writeTextFile(`${dir}/hosts`, "127.0.0.1 registry.test other.test\n");
  return dir;
}

const CLIENT = `
import errno, socket, sys, urllib.request
port = int(sys.argv[1])
print("urllib:", urllib.request.urlopen(f"http://registry.test:{port}/py", timeout=10).read().decode().strip())
try:
    socket.create_connection(("127.0.0.1", port), timeout=3)
    print("direct: connected")
except OSError as e:
    print("direct:", errno.errorcode.get(e.errno, e.errno))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.connect(("192.0.2.1", 53))  # a route lookup only: no packet is sent either way
    print("udp: routed")
except OSError as e:
    print("udp:", errno.errorcode.get(e.errno, e.errno))
`;

sandboxTest(
  "--allow-net: an allowed name works with curl and urllib; another name of its address, a direct connection and UDP do not",
  async () => {
    const dir = await hostsDir();
    const srv = server();
    try {
      const port = srv.port;
      await Deno.writeTextFile(`${dir}/client.py`, CLIENT);
      const script = [
        `curl -sS http://registry.test:${port}/curl`,
        `curl -sS -o /dev/null -w 'other: %{http_code}\\n' http://other.test:${port}/other`,
        `python3 ${dir}/client.py ${port}`,
        "ip -o link | cut -d: -f2",
      ].join("; ");
      const r = await hakoniwa(
        [
          "run",
          "-v",
          "--ro-bind",
          dir,
          "--report-file",
          `${dir}/report.json`,
          "--allow-net",
          `registry.test:${port}`,
          "--allow-net",
          `127.0.0.1:${port}`,
          "--",
          "sh",
          "-c",
          script,
        ],
        { env: { HAKONIWA_NET_HOSTS: `${dir}/hosts` } },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `hello registry.test:${port} /curl\nother: 403\nurllib: hello registry.test:${port} /py\n` +
          "direct: ECONNREFUSED\nudp: ENETUNREACH\n lo\n",
      );
      // The server saw the allowed name's two requests and nothing else.
      assert.deepEqual(srv.seen, [`registry.test:${port} /curl`, `registry.test:${port} /py`]);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
      assert.equal(report.net_refused.length, 1, JSON.stringify(report));
      const [refused] = report.net_refused;
      assert.deepEqual(
        { host: refused.host, port: refused.port, protocol: refused.protocol, rule: refused.rule },
        { host: "other.test", port, protocol: "http", rule: "default-deny" },
      );
      assert.ok(Math.abs(Date.parse(refused.time) - Date.now()) < 60_000, refused.time);
      assert.match(refused.reason, /no allow-net entry names other\.test/);
      // -v says so on stderr as it happens.
      assert.match(r.stderr, new RegExp(`allow-net refused other\\.test:${port} \\(http\\): .*\\[default-deny\\]`));
    } finally {
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest(
  "--allow-net: HTTPS through CONNECT (curl, urllib) and SOCKS5 through ALL_PROXY; a refused CONNECT is reported",
  async () => {
    const dir = await hostsDir();
    const ssl = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=registry.test",
        "-addext",
        "subjectAltName=DNS:registry.test,DNS:other.test",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(ssl.success, dec.decode(ssl.stderr));
    await Deno.chmod(`${dir}/key.pem`, 0o644);
    const srv = server({
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    });
    try {
      const port = srv.port;
      const py = `import ssl, urllib.request; ctx = ssl.create_default_context(cafile="${dir}/cert.pem"); ` +
        `print("urllib:", urllib.request.urlopen("https://registry.test:${port}/py", context=ctx).read().decode().strip())`;
      const script = [
        `curl -sS --cacert ${dir}/cert.pem https://registry.test:${port}/https`,
        `python3 -c '${py}'`,
        `curl -sS --cacert ${dir}/cert.pem --proxy "$ALL_PROXY" https://registry.test:${port}/socks`,
        `curl -sS --cacert ${dir}/cert.pem https://other.test:${port}/x || echo "curl: $?"`,
      ].join("; ");
      const r = await hakoniwa(
        [
          "run",
          "--ro-bind",
          dir,
          "--report-file",
          `${dir}/report.json`,
          "--allow-net",
          `registry.test:${port},127.0.0.1:${port}`,
          "--",
          "sh",
          "-c",
          script,
        ],
        { env: { HAKONIWA_NET_HOSTS: `${dir}/hosts` } },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        `hello registry.test:${port} /https\nurllib: hello registry.test:${port} /py\n` +
          `hello registry.test:${port} /socks\ncurl: 56\n`,
      );
      assert.match(r.stderr, /CONNECT tunnel failed, response 403/);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/report.json`));
      assert.deepEqual(
        report.net_refused.map((n: { host: string; protocol: string; rule: string }) => [n.host, n.protocol, n.rule]),
        [["other.test", "connect", "default-deny"]],
      );
    } finally {
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest(
  "--allow-net: a name that resolves to the host's loopback is refused unless the address is listed",
  async () => {
    const dir = await hostsDir();
    const srv = server();
    try {
      const r = await hakoniwa(
        [
          "run",
          "--report-file",
          `${dir}/report.json`,
          "--allow-net",
          `registry.test:${srv.port}`,
          "--",
          "curl",
          "-sS",
          "-D",
          "-",
          "-o",
          "/dev/null",
          `http://registry.test:${srv.port}/`,
        ],
        { env: { HAKONIWA_NET_HOSTS: `${dir}/hosts` } },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^HTTP\/1\.1 403 Forbidden\r\n/);
      assert.match(r.stdout, /X-Hakoniwa-Refused: private-address\r\n/);
      assert.deepEqual(srv.seen, []);
      const [refused] = JSON.parse(await Deno.readTextFile(`${dir}/report.json`)).net_refused;
      assert.equal(refused.rule, "private-address");
      assert.match(refused.reason, /resolves to 127\.0\.0\.1, a loopback address/);
    } finally {
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("--allow-net: a malformed entry or a contradiction is a usage error naming the flag or key", async () => {
  const bad = await hakoniwa(["run", "--allow-net", "registry.test:http", "--", "true"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^hakoniwa: --allow-net: the port must be a number from 1 to 65535, got "registry\.test:http"$/m,
  );
  const star = await hakoniwa(["run", "--allow-net", "*", "--", "true"]);
  assert.equal(star.code, 2);
  assert.match(star.stderr, /--allow-net: `\*` would allow every host/);
  for (const flags of [["--network", "host"], ["--share-net"], ["--network", "pasta"]]) {
    const r = await hakoniwa(["run", ...flags, "--allow-net", "a.test", "--", "true"]);
    assert.equal(r.code, 2, flags.join(" "));
    assert.match(r.stderr, /--allow-net contradicts --(network|share-net)/);
  }
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/p.toml`, 'allow_net = ["registry.test:443", "*.com"]\n');
    const p = await hakoniwa(["check", `${dir}/p.toml`]);
    assert.equal(p.code, 2);
    assert.match(p.stdout + p.stderr, /p\.toml:1:\d+: allow_net\[1\]: \*\.NAME needs a name of two labels or more/);
    await Deno.writeTextFile(`${dir}/q.toml`, 'share_net = true\nallow_net = ["registry.test"]\n');
    const q = await hakoniwa(["check", `${dir}/q.toml`]);
    assert.equal(q.code, 2);
    assert.match(q.stdout + q.stderr, /q\.toml: allow_net: contradicts share_net = true/);
    const e = await hakoniwa(["explain", "--policy-file", `${dir}/q.toml`, "--", "true"]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /allow_net: contradicts share_net = true/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest(
  "--allow-net: a proxy that cannot listen is a setup error (exit 125) and the command never runs",
  async () => {
    const dir = await tempDir();
    try {
      // A socket path past a unix socket's 108 bytes.
      const long = `${dir}/${"d".repeat(110)}`;
      await Deno.mkdir(long);
      const r = await hakoniwa(
        ["run", "--rw-bind", dir, "--allow-net", "registry.test", "--", "sh", "-c", `touch ${dir}/ran`],
        { env: { TMPDIR: long } },
      );
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /^hakoniwa: network: cannot start the allow-net proxy on .*\/net\.sock: /m);
      assert.ok(!(await Deno.stat(`${dir}/ran`).then(() => true, () => false)), "the command ran without its proxy");
      assert.deepEqual([...Deno.readDirSync(long)], [], "the socket's directory is left behind");
      const table = await hakoniwa(["explain", "--allow-net", "registry.test:443,*.cdn.test", "--", "true"]);
      assert.match(table.stdout, /^allow net +registry\.test:443, \*\.cdn\.test \(proxy at 127\.0\.0\.1:3128 and /m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest(
  "Container.allowNet: 200 requests at 20 in flight, no error; the report lists refusals; every fd closed after",
  async () => {
    const dir = await hostsDir();
    const body = "x".repeat(64 * 1024);
    const srv = server({ delayMs: 20, body });
    const saved = Deno.env.get("HAKONIWA_NET_HOSTS");
    Deno.env.set("HAKONIWA_NET_HOSTS", `${dir}/hosts`);
    const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
    try {
      const port = srv.port;
      const load = `
import concurrent.futures, sys, time, urllib.request
def get(i):
    with urllib.request.urlopen(f"http://registry.test:${port}/{i}", timeout=60) as r:
        return len(r.read())
t, ok, errors = time.time(), 0, 0
with concurrent.futures.ThreadPoolExecutor(20) as pool:
    for f in [pool.submit(get, i) for i in range(200)]:
        try:
            ok += f.result() == ${body.length}
        except Exception as e:
            errors += 1
            print(e, file=sys.stderr)
try:
    urllib.request.urlopen(f"http://other.test:${port}/no", timeout=10)
except Exception as e:
    print("other:", e)
print(f"ok={ok} errors={errors} seconds={time.time() - t:.2f}")
`;
      const container = kissContainer().allowNet(`registry.test:${port}`, `127.0.0.1:${port}`);
      // Once, so that everything a first run opens for good (the event loop's epoll set, the core) is open.
      await container.command("true").output();
      const before = fds();
      const out = await container.command("python3", { args: ["-c", load] }).output();
      const text = dec.decode(out.stdout);
      assert.equal(out.code, 0, dec.decode(out.stderr));
      const m = /ok=(\d+) errors=(\d+) seconds=([\d.]+)/.exec(text);
      assert.ok(m, text);
      assert.equal(Number(m[1]), 200, text + dec.decode(out.stderr));
      assert.equal(Number(m[2]), 0, dec.decode(out.stderr));
      assert.match(text, /other: HTTP Error 403: Forbidden/);
      assert.equal(srv.seen.length, 200);
      assert.ok(srv.peak() >= 10, `at most ${srv.peak()} requests reached the server at once`);
      console.log(`[${WHO}] 200 requests of 64 KiB, 20 in flight: ${m[3]} s inside, peak ${srv.peak()} at the server`);
      assert.deepEqual(out.report.netRefused?.map((r) => [r.host, r.port, r.rule]), [[
        "other.test",
        port,
        "default-deny",
      ]]);
      // The proxy closed its side of every connection; the server closes its own as it sees them end.
      assert.ok(await waitFor(() => fds() === before), `fds: ${before} before, ${fds()} after`);
    } finally {
      saved === undefined ? Deno.env.delete("HAKONIWA_NET_HOSTS") : Deno.env.set("HAKONIWA_NET_HOSTS", saved);
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

/** Why a network namespace with pasta and a DNS server on its loopback cannot be made here, or null. */
function pastaDnsUnusable(): string | null {
  if (SKIP_REASON) return SKIP_REASON;
  try {
    Deno.openSync("/dev/net/tun", { read: true, write: true }).close();
  } catch (e) {
    return `pasta needs /dev/net/tun read-write (${e instanceof Error ? e.message : e})`;
  }
  return null;
}

const DNS_SERVER = `
import socket, struct, sys, threading
names = {"registry.test": "10.1.2.3"}
def answer(q):
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode())
        i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    question, ip = q[12:i + 5], names.get(".".join(labels).lower())
    head = lambda flags, answers: q[:2] + struct.pack(">HHHHH", flags, 1, answers, 0, 0)
    if ip and qtype == 1:
        return head(0x8180, 1) + question + b"\\xc0\\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
    return head(0x8180 | (0 if ip else 3), 0) + question
def tcp():
    # DNS over TCP (RFC 1035 4.2.2): a 2-byte length before each message; what a resolver with use-vc asks.
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(("127.0.0.1", 53))
    t.listen(8)
    while True:
        c, _ = t.accept()
        with c:
            try:
                while True:
                    n = c.recv(2)
                    if len(n) < 2: break
                    q = b""
                    while len(q) < struct.unpack(">H", n)[0]: q += c.recv(512)
                    a = answer(q)
                    c.sendall(struct.pack(">H", len(a)) + a)
            except OSError:
                pass
threading.Thread(target=tcp, daemon=True).start()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").close()
while True:
    q, addr = s.recvfrom(512)
    s.sendto(answer(q), addr)
`;

const pastaDnsSkip = pastaDnsUnusable();
if (pastaDnsSkip && !SKIP_REASON) console.log(`skipping the pasta DNS test [${WHO}]: ${pastaDnsSkip}`);

sandboxTest("--network pasta: a name resolves as on the host, through the resolv.conf the sandbox gets", async () => {
  const dir = await tempDir();
  try {
    await Deno.chmod(dir, 0o755);
    await Deno.writeTextFile(`${dir}/dns.py`, DNS_SERVER);
    await Deno.writeTextFile(`${dir}/resolv.conf`, "nameserver 127.0.0.1\n");
    const cli = [Deno.execPath(), "run", "-A", "--no-check", `${new URL("../cli.ts", import.meta.url).pathname}`];
    // A user, mount and network namespace of the test's own stands for the host: its resolver is a DNS server on
    // its loopback, and a veth pair gives pasta a default route to copy (packets to it stay in the namespace).
    const script = `set -e
ip link set lo up
ip link add hk0 type veth peer name hk1
ip addr add 10.0.2.15/24 dev hk0
ip link set hk0 up
ip link set hk1 up
ip route add default via 10.0.2.2
mount --bind ${dir}/resolv.conf /etc/resolv.conf
/usr/bin/python3 ${dir}/dns.py ${dir}/ready &
while [ ! -e ${dir}/ready ]; do sleep 0.05; done
echo "host: $(getent hosts registry.test)"
${
      cli.join(" ")
    } run --network pasta:--udp -- sh -c 'echo "sandbox: $(getent hosts registry.test)"; cat /etc/resolv.conf; getent hosts nowhere.test || echo "nowhere: $?"'
kill $!`;
    const out = await new Deno.Command("unshare", {
      args: ["--user", "--map-root-user", "--mount", "--net", "sh", "-c", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = dec.decode(out.stdout);
    assert.equal(out.code, 0, dec.decode(out.stderr) + stdout);
    const host = /^host: (.*)$/m.exec(stdout)?.[1], inside = /^sandbox: (.*)$/m.exec(stdout)?.[1];
    assert.match(host ?? "", /^10\.1\.2\.3\s+registry\.test$/, stdout);
    assert.equal(inside?.replace(/\s+/g, " "), host?.replace(/\s+/g, " "), stdout);
    assert.match(stdout, /^nameserver 169\.254\.1\.1$/m);
    assert.match(stdout, /^nowhere: 2$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}, pastaDnsSkip);
