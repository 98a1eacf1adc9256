// Class: host ports reached from inside. Under --network pasta, pasta (Debian 12's) binds on the host's 0.0.0.0
// each UDP source port the command sends from: host processes could reach the command there, and the command could
// hold host UDP ports. UDP is off unless asked (a forwarded UDP port, or `--udp`): no host port is bound. As root,
// pasta must keep uid 0 to enter the sandbox's namespaces, and its capabilities are the sandbox's user namespace's.
import assert from "node:assert/strict";
import { cliArgv, IS_ROOT, SKIP_REASON, waitFor, WHO } from "../helpers.ts";

function pastaUnusable(): string | null {
  if (SKIP_REASON) return SKIP_REASON;
  try {
    Deno.openSync("/dev/net/tun", { read: true, write: true }).close();
    return null;
  } catch (e) {
    return `pasta needs /dev/net/tun read-write for this user (${e instanceof Error ? e.message : e})`;
  }
}
const skip = pastaUnusable();
if (skip) console.log(`skipping pasta port tests [${WHO}]: ${skip}`);

/** A UDP port no host socket is bound to now (above the usual ephemeral range's start). */
function freeUdpPort(): number {
  for (;;) {
    const port = 40000 + Math.floor(Math.random() * 20000);
    if (!hostBindsUdp(port)) return port;
  }
}

/** Whether a host socket is bound to UDP `port` (IPv4 or IPv6), from /proc/net/udp*. */
function hostBindsUdp(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")} `;
  return ["/proc/net/udp", "/proc/net/udp6"].some((f) =>
    Deno.readTextFileSync(f).split("\n").slice(1).some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex.trim()))
  );
}

/** Runs a sandbox whose command sends one UDP datagram from `port` and waits; says whether the host bound it. */
async function sendFrom(network: string, port: number): Promise<{ bound: boolean; stderr: string; code: number }> {
  const py = `import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", ${port}))
s.sendto(b"x", ("198.51.100.1", 9))
print("sent", flush=True)
time.sleep(3)`;
  const [deno, ...args] = cliArgv("run", "--network", network, "--", "/usr/bin/python3", "-c", py);
  const child = new Deno.Command(deno, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value ?? new Uint8Array()), /sent/);
  const bound = await waitFor(() => hostBindsUdp(port), 2500);
  reader.releaseLock();
  const out = await child.output();
  return { bound, code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test({
  name: `pasta: a UDP datagram from the sandbox binds no host port; --udp asks for UDP [${WHO}]`,
  ignore: skip !== null,
}, async () => {
  const port = freeUdpPort();
  const r = await sendFrom("pasta", port);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.bound, false, `pasta bound UDP port ${port} on the host for the sandbox`);
  // The control: with UDP asked for, this pasta binds the source port on the host (what the default prevents).
  const control = freeUdpPort();
  const asked = await sendFrom("pasta:--udp", control);
  assert.equal(asked.code, 0, asked.stderr);
  if (!asked.bound) console.log(`[${WHO}] this pasta binds no host port for UDP even when asked: the control saw none`);
});

Deno.test({
  name:
    "pasta: as root it keeps uid 0 but its capabilities are the sandbox's user namespace's, none of the host's [root]",
  ignore: skip !== null || !IS_ROOT,
}, async () => {
  const [deno, ...args] = cliArgv("run", "--network", "pasta", "--", "/bin/sh", "-c", "echo up; sleep 3");
  const child = new Deno.Command(deno, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  // The command runs once pasta has set the namespace up (and its daemon is in place).
  const reader = child.stdout.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value ?? new Uint8Array()), /up/);
  reader.releaseLock();
  let pid = 0;
  assert.ok(
    await waitFor(() => {
      for (const e of Deno.readDirSync("/proc")) {
        if (!/^\d+$/.test(e.name)) continue;
        try {
          const argv = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
          if (argv[0].endsWith("pasta") && argv.some((a) => a.includes("/hakoniwa-pasta-"))) pid = Number(e.name);
        } catch { /* gone */ }
      }
      return pid > 0;
    }, 3000),
    "no pasta found",
  );
  const own = Deno.readLinkSync("/proc/self/ns/user"), its = Deno.readLinkSync(`/proc/${pid}/ns/user`);
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  await child.output();
  assert.match(status, /^Uid:\s+0\s/m);
  assert.notEqual(its, own, "pasta holds its capabilities in the host's user namespace");
});
