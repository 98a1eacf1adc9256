// The library under load, as a server that runs untrusted code per request uses it: hundreds of sandboxes in
// flight, every byte relayed exactly, every verdict right. Counts and contents are asserted, never timings
// (throughput is measured in bench/, side by side with Deno.Command("bwrap")).
import assert from "node:assert/strict";
import { Container } from "../mod.ts";
import { sandboxTest } from "./helpers.ts";

const MiB = 1 << 20;

function box(walltime = 60): Container {
  return new Container()
    .bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true })
    .devfs("/dev").walltime(walltime);
}

/** What `yes WORD | head -c N` writes. */
function yesBytes(word: string, n: number): Uint8Array {
  const line = new TextEncoder().encode(`${word}\n`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = line[i % line.length];
  return out;
}

/** Deterministic bytes of every value, different for each seed. */
function pattern(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, at), at += p.length;
  return all;
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return concat(parts);
}

sandboxTest("load: 64 output() at once, 1 MiB stdout and 256 KiB stderr each, byte-exact, all OK", async () => {
  const c = box();
  const runs = await Promise.all(Array.from({ length: 64 }, (_, i) =>
    c.command("/bin/sh", {
      args: ["-c", `yes o${i} | head -c ${MiB}; yes e${i} | head -c ${256 * 1024} >&2`],
    }).output()));
  runs.forEach((r, i) => {
    assert.equal(r.status, "OK", `${i}: ${r.status} ${r.reason}`);
    assert.deepEqual(r.stdout, yesBytes(`o${i}`, MiB), `${i}: stdout`);
    assert.deepEqual(r.stderr, yesBytes(`e${i}`, 256 * 1024), `${i}: stderr`);
  });
});

sandboxTest("load: 64 spawn() at once pipe 1 MiB through cat with web streams, byte-exact", async () => {
  const c = box();
  const runs = await Promise.all(Array.from({ length: 64 }, async (_, i) => {
    const data = pattern(i + 1, MiB);
    const child = c.command("/bin/cat", { stdin: "piped", stdout: "piped" }).spawn();
    const fed = (async () => {
      const w = child.stdin.getWriter();
      // In pieces of several sizes: each write resolves once the pipe took it (backpressure).
      for (let at = 0, step = 1000; at < data.length; at += step, step = step * 3 % 200_000 + 1) {
        await w.write(data.subarray(at, at + step));
      }
      await w.close();
    })();
    const out = await readAll(child.stdout);
    await fed;
    return { out, data, status: await child.status };
  }));
  runs.forEach(({ out, data, status }, i) => {
    assert.equal(status.status, "OK", `${i}: ${status.reason}`);
    assert.equal(out.length, data.length, `${i}: length`);
    assert.deepEqual(out, data, `${i}: contents`);
  });
});

sandboxTest("load: 256 output() of /bin/true at once all end OK", async () => {
  const c = box();
  const runs = await Promise.all(Array.from({ length: 256 }, () => c.command("/bin/true").output()));
  assert.deepEqual(runs.map((r) => r.status).filter((s) => s !== "OK"), []);
});

sandboxTest("load: 16 one-second CPU spinners at once are all TLE, each charged its second", async () => {
  const c = box().rlimit("cpu", 1);
  const runs = await Promise.all(
    Array.from({ length: 16 }, () => c.command("/bin/sh", { args: ["-c", "while :; do :; done"] }).output()),
  );
  for (const r of runs) {
    assert.equal(r.status, "TLE", `${r.status}: ${r.reason}`);
    assert.equal(r.reason, "cpu time limit of 1s exceeded");
    const cpu = r.userTimeMs + r.systemTimeMs;
    assert.ok(cpu >= 1000 && cpu < 1300, `cpu ${cpu} ms for a 1 s limit`);
    assert.equal(r.usage, "rusage");
  }
});

sandboxTest("load: a SIGXCPU the command raises itself is SIG, not TLE", async () => {
  const r = await box().rlimit("cpu", 5).command("/bin/sh", { args: ["-c", "kill -XCPU $$"] }).output();
  assert.equal(r.status, "SIG", r.reason);
  assert.equal(r.signal, "SIGXCPU");
});

sandboxTest("load: a walltime-killed spinner's report shows its CPU time and its own memory", async () => {
  const r = await box(2).command("/bin/sh", { args: ["-c", "while :; do :; done"] }).output();
  assert.equal(r.status, "TLE", r.reason);
  assert.equal(r.reason, "walltime limit of 2s exceeded");
  assert.equal(r.usage, "rusage");
  const cpu = r.userTimeMs + r.systemTimeMs;
  assert.ok(cpu > 500 && cpu <= r.realTimeMs + 50, `cpu ${cpu} ms in ${r.realTimeMs} ms`);
  // A shell's, not the caller's (the init program is vforked from Deno; its high-water mark is Deno's).
  assert.ok(r.maxRssKb > 0 && r.maxRssKb < 16 * 1024, `max RSS ${r.maxRssKb} KiB`);
});

sandboxTest("load: a killed sandbox (SIGKILL, abort) still reports every process's usage", async () => {
  const ctl = new AbortController();
  const child = box().command("/bin/sh", {
    args: ["-c", "(while :; do :; done) & while :; do :; done"],
    signal: ctl.signal,
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((ok) => setTimeout(ok, 1500));
  ctl.abort();
  const r = await child.status;
  assert.equal(r.status, "SIG");
  assert.equal(r.signal, "SIGKILL");
  assert.equal(r.usage, "rusage");
  // Two spinners on a 2-core machine: the killed background one counts too.
  assert.ok(r.userTimeMs + r.systemTimeMs > 600, `cpu ${r.userTimeMs + r.systemTimeMs} ms`);
});

sandboxTest("output cap: past maxOutput the sandbox is killed, the first bytes are kept, status OLE", async () => {
  const r = await box().command("/usr/bin/yes", { args: ["cap"], maxOutput: 100_000 }).output();
  assert.equal(r.status, "OLE");
  assert.equal(r.reason, "stdout exceeded the output limit of 100000 bytes");
  assert.deepEqual(r.stdout, yesBytes("cap", 100_000));
  const e = await box().command("/bin/sh", { args: ["-c", "yes err >&2"], maxOutput: 5000 }).output();
  assert.equal(e.status, "OLE");
  assert.match(e.reason, /^stderr exceeded/);
  assert.equal(e.stderr.length, 5000);
  // Under the cap nothing changes; a bad cap is a usage error naming the option.
  const ok = await box().command("/bin/sh", { args: ["-c", "printf 12345"], maxOutput: 5 }).output();
  assert.equal(ok.status, "OK");
  assert.equal(new TextDecoder().decode(ok.stdout), "12345");
  assert.throws(() => box().command("/bin/true", { maxOutput: -1 }), /maxOutput: expected a whole number of bytes/);
});

sandboxTest("streams in any order: stderr read to its end before stdout, both past a pipe's size", async () => {
  const child = box().command("/bin/sh", {
    args: ["-c", `yes a | head -c ${2 * MiB}; yes b | head -c ${2 * MiB} >&2; yes c | head -c ${MiB}`],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // stdout's reader starts, then this awaits stderr's end: each pipe fills and empties in turn, each read
  // waiting in the one event loop, neither holding a thread that the other needs.
  const out = readAll(child.stdout);
  const err = await readAll(child.stderr);
  assert.deepEqual(err, yesBytes("b", 2 * MiB));
  assert.deepEqual(await out, concat([yesBytes("a", 2 * MiB), yesBytes("c", MiB)]));
  assert.equal((await child.status).status, "OK");
});

sandboxTest("a command that closes its stdin early ends the stream quietly: no error, nothing else lost", async () => {
  const child = box().command("/usr/bin/head", { args: ["-c", "10"], stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  const big = pattern(7, 8 * MiB);
  await w.write(big); // head reads 10 bytes and exits: the rest meets EPIPE, which ends the stream
  await w.write(big);
  await w.close();
  const out = await readAll(child.stdout);
  assert.deepEqual(out, big.subarray(0, 10));
  assert.equal((await child.status).status, "OK");
});

sandboxTest("a slow reader slows the command and loses nothing", async () => {
  const child = box().command("/bin/sh", { args: ["-c", `yes slow | head -c ${4 * MiB}`], stdout: "piped" }).spawn();
  const parts: Uint8Array[] = [];
  let reads = 0;
  for await (const p of child.stdout) {
    parts.push(p);
    if (reads++ % 8 === 0) await new Promise((ok) => setTimeout(ok, 5));
  }
  assert.deepEqual(concat(parts), yesBytes("slow", 4 * MiB));
  assert.equal((await child.status).status, "OK");
});
