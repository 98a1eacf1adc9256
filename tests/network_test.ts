// Integration tests of --network: none, host and pasta. Only addresses on this machine are used.
import assert from "node:assert/strict";
import { hakoniwa, sandboxTest, SKIP_REASON, tempDir, waitFor, WHO } from "./helpers.ts";

/** Interface names and flags from `ip -o link`. */
function links(text: string): { name: string; flags: string[] }[] {
  return text.trim().split("\n").filter(Boolean).map((l) => {
    const m = /^\d+: ([^:@]+)[^<]*<([^>]*)>/.exec(l);
    assert.ok(m, `unexpected ip link line: ${l}`);
    return { name: m[1], flags: m[2].split(",") };
  });
}

async function hostLinks(): Promise<{ name: string; flags: string[] }[]> {
  const out = await new Deno.Command("ip", { args: ["-o", "link"], stdout: "piped" }).output();
  return links(new TextDecoder().decode(out.stdout));
}

/** pids of pasta processes started by hakoniwa (their --pid file lives in a hakoniwa-pasta-* directory). */
function hakoniwaPastas(): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
      if (argv[0].endsWith("pasta") && argv.some((a) => a.includes("/hakoniwa-pasta-"))) pids.push(Number(e.name));
    } catch { /* gone */ }
  }
  return pids;
}

/** Why pasta cannot run for this user here, or null. */
function pastaUnusable(): string | null {
  if (SKIP_REASON) return SKIP_REASON;
  try {
    const f = Deno.openSync("/dev/net/tun", { read: true, write: true });
    f.close();
    return null;
  } catch (e) {
    return `pasta needs /dev/net/tun read-write for this user (${
      e instanceof Error ? e.message : e
    }); .ci/run sets 0666`;
  }
}

const ECHO_SERVER_AND_CLIENT = `
import socket, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
port = srv.getsockname()[1]
def serve():
    c, _ = srv.accept(); c.sendall(c.recv(100).upper()); c.close()
t = threading.Thread(target=serve); t.start()
cl = socket.create_connection(("127.0.0.1", port), timeout=5); cl.sendall(b"ping")
print(cl.recv(100).decode()); t.join()
`;

sandboxTest("--network none (the default): only lo, up; a server inside on 127.0.0.1 works", async () => {
  for (const flags of [[], ["--network", "none"]]) {
    const r = await hakoniwa(["run", ...flags, "--", "ip", "-o", "link"]);
    assert.equal(r.code, 0, r.stderr);
    const l = links(r.stdout);
    assert.deepEqual(l.map((x) => x.name), ["lo"]);
    assert.ok(l[0].flags.includes("UP"), r.stdout);
  }
  const r = await hakoniwa(["run", "--", "python3", "-c", ECHO_SERVER_AND_CLIENT]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "PING\n");
});

sandboxTest("--network host sees the host's interfaces (and so does --share-net)", async () => {
  const host = (await hostLinks()).map((l) => l.name).sort();
  assert.ok(host.length > 1, "this machine has only lo: the test would not tell host from none");
  for (const flags of [["--network", "host"], ["--share-net"]]) {
    const r = await hakoniwa(["run", ...flags, "--", "ip", "-o", "link"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(links(r.stdout).map((l) => l.name).sort(), host);
  }
});

const pastaReason = pastaUnusable();
if (pastaReason) console.log(`skipping pasta tests [${WHO}]: ${pastaReason}`);

Deno.test({
  name: `--network pasta reaches a server on the host's loopback, and pasta stops with the sandbox [${WHO}]`,
  ignore: pastaReason !== null,
  sanitizeResources: true,
  async fn() {
    const ac = new AbortController();
    const secret = crypto.randomUUID();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
      () => new Response(`hello ${secret}\n`),
    );
    try {
      const port = server.addr.port;
      const fetch =
        `import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:${port}/", timeout=10).read().decode(), end="")`;
      const r = await hakoniwa([
        "run",
        "-v",
        "--network",
        `pasta:-T,${port}`,
        "--",
        "/bin/sh",
        "-c",
        `ip -o link; python3 -c '${fetch}'`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdout.endsWith(`hello ${secret}\n`), r.stdout);
      const names = links(r.stdout.slice(0, r.stdout.lastIndexOf("hello"))).map((l) => l.name);
      assert.ok(names.includes("lo") && names.length > 1, `no pasta interface: ${names}`);
      assert.match(r.stderr, /Network: pasta \["-T","\d+"\]/);
      assert.ok(await waitFor(() => hakoniwaPastas().length === 0), `pasta left running: ${hakoniwaPastas()}`);

      // Without the mapping the host's loopback is not reachable from inside.
      const closed = await hakoniwa(["run", "--network", "pasta", "--", "python3", "-c", fetch]);
      assert.notEqual(closed.code, 0);
      assert.doesNotMatch(closed.stdout, /hello/);
      assert.ok(await waitFor(() => hakoniwaPastas().length === 0), `pasta left running: ${hakoniwaPastas()}`);
    } finally {
      ac.abort();
      await server.finished;
    }
  },
});

sandboxTest("--network pasta without pasta: a clear error, and the command never runs", async () => {
  const dir = await tempDir();
  try {
    const r = await hakoniwa(
      ["run", "--rw-bind", dir, "--network", "pasta", "--", "/bin/sh", "-c", `touch ${dir}/ran`],
      { env: { HAKONIWA_PASTA: `${dir}/no-pasta-here` } },
    );
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /^hakoniwa: network: the pasta network mode needs pasta\(1\), which was not found .*passt/m);
    const ran = await Deno.stat(`${dir}/ran`).then(() => true, () => false);
    assert.ok(!ran, "the command ran without its network");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("--network and [network]: bad values are usage or policy errors", async () => {
  const r = await hakoniwa(["run", "--network", "bridge", "--", "/bin/true"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--network: expected none, host or pasta\[:OPTIONS\], got "bridge"/);
  const both = await hakoniwa(["run", "--share-net", "--network", "none", "--", "/bin/true"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--share-net contradicts --network none/);
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/p.toml`, 'share_net = true\n\n[network]\nmode = "bridge"\n');
    const p = await hakoniwa(["run", "--policy-file", `${dir}/p.toml`, "--", "/bin/true"]);
    assert.equal(p.code, 2);
    assert.match(p.stderr, /p\.toml:4:1: network\.mode: expected "none", "host" or "pasta", got "bridge"/);
    await Deno.writeTextFile(
      `${dir}/h.toml`,
      'mounts = [{ source = "/usr", target = "/usr" }, { source = "/bin", target = "/bin" }, { source = "/lib", target = "/lib" }, { source = "/lib64", target = "/lib64" }]\n[network]\nmode = "host"\n',
    );
    const host = await hakoniwa(["run", "--policy-file", `${dir}/h.toml`, "--", "ip", "-o", "link"]);
    assert.equal(host.code, 0, host.stderr);
    assert.ok(links(host.stdout).length > 1, host.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
