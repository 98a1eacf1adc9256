// The identity flags of 1.x: --userns auto, --user USER:GROUP:GROUP,... (supplementary groups) and
// --allow-new-privs, as root and rootless, through the CLI and the library.
import assert from "node:assert/strict";
import { Container } from "../mod.ts";
import { hakoniwa, IS_ROOT, pathExists, sandboxSh, sandboxTest, tempDir } from "./helpers.ts";
import { parseStatus } from "./security/probe.ts";

const ZERO = "0000000000000000";

/** The caller's first range of a subordinate id file (by name or uid), as --userns auto maps it. */
function subRange(file: string): { start: number; count: number } | null {
  const uid = String(Deno.uid());
  const name = Deno.readTextFileSync("/etc/passwd").split("\n").map((l) => l.split(":")).find((f) => f[2] === uid)
    ?.[0];
  for (const line of Deno.readTextFileSync(file).split("\n")) {
    const f = line.trim().split(":");
    if (f.length === 3 && (f[0] === name || f[0] === uid)) return { start: Number(f[1]), count: Number(f[2]) };
  }
  return null;
}

const mapLines = (text: string) => text.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));

sandboxTest(
  "--userns auto: the caller is 0 inside, 1.. the first range /etc/subuid and /etc/subgid grant it",
  async () => {
    const r = await sandboxSh("cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; id -u; id -g", [
      "--userns=auto",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [uidMap, rest] = r.stdout.split("--\n");
    const [gidText, ids] = [rest.split("\n").slice(0, -3).join("\n"), rest.split("\n").slice(-3, -1)];
    const uidRange = subRange("/etc/subuid"), gidRange = subRange("/etc/subgid");
    assert.deepEqual(mapLines(uidMap), [[0, Deno.uid()!, 1], ...uidRange ? [[1, uidRange.start, uidRange.count]] : []]);
    assert.deepEqual(mapLines(gidText), [
      [0, Deno.gid()!, 1],
      ...gidRange ? [[1, gidRange.start, gidRange.count]] : [],
    ]);
    assert.deepEqual(ids, ["0", "0"]);
    const bad = await hakoniwa(["run", "--userns", "keep-id", "--", "true"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^hakoniwa: --userns: expected auto, got "keep-id"\n$/);
    const both = await hakoniwa(["run", "--userns=auto", "--uidmap", "0", "--", "true"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--userns auto makes the id maps: it cannot be given with --uidmap/);
  },
);

sandboxTest("--user U:G:SG,...: exactly those supplementary groups, U:G none (under --userns auto)", async () => {
  const groups = async (user: string) => {
    const r = await sandboxSh("grep -E '^(Uid|Gid|Groups):' /proc/self/status", ["--userns=auto", "--user", user]);
    assert.equal(r.code, 0, `${user}: ${r.stderr}`);
    return parseStatus(r.stdout);
  };
  const st = await groups("0:0:10,27");
  assert.equal(st.get("Groups"), "10 27");
  assert.equal(st.get("Gid"), "0\t0\t0\t0");
  assert.equal((await groups("0:0")).get("Groups"), "");
  assert.equal((await groups("0:0:5")).get("Groups"), "5");
  const unmapped = await hakoniwa(["run", "--userns=auto", "--user", "0:0:4000000", "--", "true"]);
  assert.equal(unmapped.code, 2);
  assert.match(unmapped.stderr, /^hakoniwa: --user: gid 4000000 is not in the gid map/);
  const many = Array.from({ length: 65 }, (_, i) => i + 1).join(",");
  const tooMany = await hakoniwa(["run", "--userns=auto", "--user", `0:0:${many}`, "--", "true"]);
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.stderr, /^hakoniwa: --user: at most 64 supplementary groups, got 65\n$/);
});

sandboxTest(
  "--user with groups under a gid map written without newgidmap: set as root, an error rootless",
  async () => {
    const r = await sandboxSh("grep '^Groups:' /proc/self/status", ["--user", "0:0:10"]);
    if (IS_ROOT) {
      // Root writes the maps itself: group 10 inside is group 10 on the host.
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseStatus(r.stdout).get("Groups"), "10");
    } else {
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, /^hakoniwa: --user: setting supplementary groups \(gids 10\) needs setgroups/);
      assert.match(r.stderr, /--userns auto/);
    }
  },
);

sandboxTest("library: Container.groups() with the subgid range mapped (or as root), allowNewPrivs()", async () => {
  const base = () =>
    new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", { optional: true });
  const range = subRange("/etc/subgid");
  let c = base().uid(0).gid(0).groups(10, 27);
  if (!IS_ROOT) {
    assert.ok(range, "the test user has an /etc/subgid range (useradd grants one)");
    c = c.uidMap(0, Deno.uid()!).gidMap(0, Deno.gid()!).gidMap(1, range.start, range.count);
  }
  const out = await c.command("/bin/sh", { args: ["-c", "grep -E '^(Groups|NoNewPrivs):' /proc/self/status"] })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const st = parseStatus(new TextDecoder().decode(out.stdout));
  assert.equal(st.get("Groups"), "10 27");
  assert.equal(st.get("NoNewPrivs"), "1");
  const lax = await base().allowNewPrivs().command("/bin/grep", { args: ["NoNewPrivs", "/proc/self/status"] })
    .output();
  assert.equal(new TextDecoder().decode(lax.stdout), "NoNewPrivs:\t0\n");
});

sandboxTest("--allow-new-privs: NoNewPrivs 0 (1 without), the filter on, no capability, Landlock on", async () => {
  const status = async (flags: string[]) => {
    const r = await sandboxSh("cat /proc/self/status", flags);
    assert.equal(r.code, 0, r.stderr);
    return parseStatus(r.stdout);
  };
  for (const uid of [[], ["--uid", "4242", "--gid", "4343"]]) {
    const on = await status(["--allow-new-privs", ...uid]);
    assert.equal(on.get("NoNewPrivs"), "0", uid.join(" "));
    assert.equal(on.get("Seccomp"), "2");
    assert.equal(on.get("Seccomp_filters"), "1");
    for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) assert.equal(on.get(cap), ZERO, cap);
    if (uid.length) assert.equal(on.get("Uid"), "4242\t4242\t4242\t4242");
    assert.equal((await status(uid)).get("NoNewPrivs"), "1");
  }
  // A syscall the default profile refuses still fails (ptrace(PTRACE_TRACEME) needs no privilege otherwise).
  const traceme = "import ctypes; c = ctypes.CDLL(None, use_errno=True); " +
    "print(c.ptrace(0, 0, 0, 0), ctypes.get_errno())";
  const denied = await hakoniwa(["run", "--allow-new-privs", "--", "python3", "-c", traceme]);
  assert.equal(denied.stdout, "-1 1\n", denied.stderr);
  const unconfined = await hakoniwa([
    "run",
    "--allow-new-privs",
    "--seccomp",
    "unconfined",
    "--",
    "python3",
    "-c",
    traceme,
  ]);
  assert.equal(unconfined.stdout, "0 0\n", unconfined.stderr);
  // Landlock is loaded before the credentials change too.
  const rx = ["/usr", "/bin", "/lib", ...pathExists("/lib64") ? ["/lib64"] : []];
  const ll = await sandboxSh("ls -d /usr; ls /tmp || echo tmp-refused", [
    "--allow-new-privs",
    "--landlock-fs-rx",
    rx.join(","),
  ]);
  assert.equal(ll.stdout, "/usr\ntmp-refused\n", ll.stderr);
});

sandboxTest("--allow-new-privs: a set-uid program gains nothing (every mount is nosuid)", async () => {
  const dir = await tempDir();
  try {
    await Deno.chmod(dir, 0o755);
    await Deno.copyFile("/usr/bin/id", `${dir}/suid-id`);
    await Deno.chmod(`${dir}/suid-id`, 0o4755);
    assert.equal((await Deno.stat(`${dir}/suid-id`)).mode! & 0o4000, 0o4000, "the host file is set-uid");
    // The file's owner (the caller) is 0 inside; the command runs as 1.
    const r = await hakoniwa([
      "run",
      "--userns=auto",
      "--uid",
      "1",
      "--gid",
      "1",
      "--allow-new-privs",
      "--ro-bind",
      `${dir}:/s`,
      "--",
      "/bin/sh",
      "-c",
      "/s/suid-id -u; /s/suid-id -ru; stat -c %u /s/suid-id",
    ]);
    if (r.code === 2 && /not in the uid map/.test(r.stderr)) {
      throw new Error(`this user has no /etc/subuid range for --userns auto: ${r.stderr}`);
    }
    assert.equal(r.stdout, "1\n1\n0\n", r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("--allow-new-privs with a profile that refuses the setup's calls under the filter: exit 2", async () => {
  const dir = await tempDir();
  try {
    const profile = `${dir}/allow-few.json`;
    await Deno.writeTextFile(
      profile,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ERRNO",
        syscalls: [{ names: ["execve", "write", "exit_group", "read"], action: "SCMP_ACT_ALLOW" }],
      }),
    );
    const r = await hakoniwa(["run", "--allow-new-privs", "--seccomp", profile, "--", "true"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^hakoniwa: --allow-new-privs: the seccomp profile .* may refuse prctl, capset, setgroups/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
