// Many sandboxes from one process leave nothing behind: no fd, child, zombie, mount or temporary file.
// 100 sequential runs here; 1000 with HAKONIWA_SLOW=1 (npm run test:slow).
import assert from "node:assert/strict";
import { Container } from "../mod.ts";
import { initFallbackDirs, loadNativeSync } from "../src/native/ffi.ts";
import { compileProfile, defaultProfile } from "../src/seccomp/profile.ts";
import { sandboxTest, SKIP_REASON, waitFor } from "./helpers.ts";

// Load the core and libseccomp once, before the tests' resource checks.
if (!SKIP_REASON) {
  loadNativeSync();
  compileProfile(defaultProfile());
}

const RUNS = Deno.env.get("HAKONIWA_SLOW") === "1" ? 1000 : 100;

/** Direct children of this process (every thread's), with their states. */
function children(): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const t of Deno.readDirSync("/proc/self/task")) {
    const list = Deno.readTextFileSync(`/proc/self/task/${t.name}/children`).trim();
    for (const pid of list ? list.split(" ").map(Number) : []) {
      let state = "?";
      try {
        state = Deno.readTextFileSync(`/proc/${pid}/stat`).replace(/^.*\) /, "")[0];
      } catch { /* gone */ }
      out.push({ pid, state });
    }
  }
  return out;
}

function listing(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Open fds with what they point to. */
function fds(): string[] {
  return listing("/proc/self/fd").map((fd) => {
    try {
      return `${fd} -> ${Deno.readLinkSync(`/proc/self/fd/${fd}`)}`;
    } catch {
      return `${fd} -> ?`; // the directory listing's own fd
    }
  });
}

function snapshot() {
  return {
    fds: fds().length,
    children: children().length,
    mounts: Deno.readTextFileSync("/proc/self/mountinfo").split("\n").length,
    fallbackDirs: initFallbackDirs().map((d) => `${d}: ${listing(d).join(" ")}`),
  };
}

/** Temporary names this process would leave: files named with its pid. */
function ownTempFiles(): string[] {
  const dirs = [...initFallbackDirs(), Deno.env.get("TMPDIR") ?? "/tmp", "/dev/shm"];
  return dirs.flatMap((d) => listing(d).filter((n) => n.includes(`.${Deno.pid}.`)).map((n) => `${d}/${n}`));
}

sandboxTest(`${RUNS} sequential runs (output, spawn with pipes, setup errors) leave nothing behind`, async () => {
  const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
  const dec = new TextDecoder();
  // Warm up: the first run may open fds Deno keeps (the thread pool, the library).
  await c.command("true").output();
  const before = snapshot();
  const beforeFds = fds();
  for (let i = 0; i < RUNS; i++) {
    switch (i % 4) {
      case 0: {
        const out = await c.command("/bin/sh", { args: ["-c", `echo ${i}`] }).output();
        assert.equal(dec.decode(out.stdout), `${i}\n`);
        break;
      }
      case 1: {
        const child = c.command("cat", { stdin: "piped", stdout: "piped", stderr: "null" }).spawn();
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(`cat ${i}`));
        await w.close();
        assert.equal(dec.decode((await child.output()).stdout), `cat ${i}`);
        break;
      }
      case 2:
        await assert.rejects(c.command("no-such-program-z").output());
        break;
      case 3: {
        await using child = c.command("sleep", { args: ["100"], stdin: "piped", stdout: "piped" }).spawn();
        assert.ok(child.pid > 0);
        break; // disposed: killed, waited for, pipes closed
      }
    }
  }
  // A pipe end closes when its last read returns: give in-flight calls a moment, a leak stays.
  await waitFor(() => JSON.stringify(snapshot()) === JSON.stringify(before), 5000);
  const after = snapshot();
  assert.deepEqual(after, before, `fds before: ${beforeFds.join(", ")}\nfds after: ${fds().join(", ")}`);
  assert.deepEqual(children().filter((p) => p.state === "Z"), []);
  assert.deepEqual(ownTempFiles(), []);
});
