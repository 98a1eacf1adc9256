// Integration tests of --rootdir: a read-only host directory as the root is never written, even when the plan
// makes mount points, directories or links it lacks (they land on a tmpfs layered over it); DIR:rw is written.
import assert from "node:assert/strict";
import { planFromJson } from "../src/plan/json.ts";
import { hakoniwa, sandboxSh, sandboxTest, tempDir } from "./helpers.ts";

/** Every entry beneath dir (not following links) with its type, mode, size and mtime: what "unchanged" compares. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    const st = Deno.lstatSync(path);
    out[path.slice(dir.length) || "/"] = [
      st.isDirectory ? "d" : st.isSymlink ? "l" : "f",
      st.mode?.toString(8),
      st.isDirectory ? "" : st.size,
      st.mtime?.getTime(),
    ].join(" ");
    if (st.isDirectory) { for (const e of Deno.readDirSync(path)) walk(`${path}/${e.name}`); }
  };
  walk(dir);
  return out;
}

/** Prints the mount options and type of the sandbox's / from its mountinfo (the rootdir has no awk). */
const ROOT_MOUNT = String
  .raw`sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* / \([^ ]*\) .*- \([^ ]*\) .*|\1 \2|p' /proc/self/mountinfo`;

/** A rootdir with the KISS policy's bind targets and a file, but no /tmp, /proc or /dev. */
async function bareRoot(): Promise<string> {
  const dir = await tempDir();
  for (const d of ["bin", "lib", "lib64", "usr", "srv"]) await Deno.mkdir(`${dir}/${d}`);
  await Deno.writeTextFile(`${dir}/marker`, "from rootdir\n");
  // Old times, so that a write during the run would show as a new mtime.
  for (const p of ["", "/srv", "/marker"]) await Deno.utime(`${dir}${p}`, 1_000_000, 1_000_000);
  return dir;
}

sandboxTest("--rootdir DIR is a read-only root, DIR:rw a writable one", async () => {
  const dir = await tempDir();
  try {
    for (const d of ["bin", "lib", "lib64", "usr", "proc", "tmp", "dev"]) await Deno.mkdir(`${dir}/${d}`);
    await Deno.writeTextFile(`${dir}/marker`, "from rootdir\n");
    const ro = await sandboxSh("cat /marker; touch /x 2>/dev/null || echo ro", ["--rootdir", dir]);
    assert.equal(ro.code, 0, ro.stderr);
    assert.equal(ro.stdout, "from rootdir\nro\n");
    const rw = await sandboxSh("echo new > /x && cat /x", ["--rootdir", `${dir}:rw`]);
    assert.equal(rw.code, 0, rw.stderr);
    assert.equal(await Deno.readTextFile(`${dir}/x`), "new\n");
    const gone = await hakoniwa(["run", "--rootdir", `${dir}/nope`, "--", "true"]);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /rootdir .*nope.* does not exist/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest(
  "a read-only --rootdir without /tmp, /proc and /dev gets them, and the host's directory is unchanged",
  async () => {
    const dir = await bareRoot();
    try {
      const before = snapshot(dir);
      const script = [
        "stat -f -c %T /tmp /proc /dev /srv/cache",
        "echo x > /tmp/f && cat /tmp/f",
        "test -r /proc/self/status && echo proc",
        "test -c /dev/null && echo dev",
        "cat /marker",
        "ls -d /made/sub /lnk",
        "touch /x 2>&1; mkdir /y 2>&1; touch /marker 2>&1",
        "stat -c %a /", // the layer's root has the rootdir's mode
        // The root's line of mountinfo: read-only, nosuid, nodev, an overlay.
        ROOT_MOUNT,
      ].join("; ");
      const r = await sandboxSh(script, [
        "--rootdir",
        dir,
        "--tmpfs",
        "/srv/cache",
        "--dir",
        "/made/sub",
        "--symlink",
        "/tmp:/lnk",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.deepEqual(lines.slice(0, 8), ["tmpfs", "proc", "tmpfs", "tmpfs", "x", "proc", "dev", "from rootdir"]);
      assert.deepEqual(lines.slice(8, 10), ["/lnk", "/made/sub"]);
      assert.equal(lines.filter((l) => /Read-only file system/.test(l)).length, 3, r.stdout);
      assert.equal(lines[lines.length - 2], (Deno.statSync(dir).mode! & 0o7777).toString(8));
      const [options, fstype] = lines[lines.length - 1].split(" ");
      for (const o of ["ro", "nosuid", "nodev"]) assert.ok(options.split(",").includes(o), `${o} in ${options}`);
      assert.equal(fstype, "overlay");
      assert.deepEqual(snapshot(dir), before, "no new entry, no changed mtime in the host's directory");
      // explain says so; a rootdir with every mount point gets no layer (the common case costs nothing).
      const plan = planFromJson((await hakoniwa(["explain", "--json", "--rootdir", dir, "--", "true"])).stdout);
      assert.deepEqual(plan.root, { source: dir, readonly: true, layer: true });
      for (const d of ["proc", "tmp", "dev"]) await Deno.mkdir(`${dir}/${d}`);
      const full = planFromJson((await hakoniwa(["explain", "--json", "--rootdir", dir, "--", "true"])).stdout);
      assert.equal(full.root.layer, false);
      const plain = await sandboxSh(ROOT_MOUNT, ["--rootdir", dir]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^ro,nosuid,nodev\S* \S+\n$/);
      assert.doesNotMatch(plain.stdout, / overlay\n/, "no layer without need");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("--rootdir DIR:rw still makes what it lacks in DIR itself, as 1.x does", async () => {
  const dir = await bareRoot();
  try {
    const r = await sandboxSh("echo x > /tmp/f; echo y > /z; ls -d /made", [
      "--rootdir",
      `${dir}:rw`,
      "--dir",
      "/made",
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const d of ["tmp", "proc", "dev", "made"]) assert.ok(Deno.statSync(`${dir}/${d}`).isDirectory, d);
    assert.equal(await Deno.readTextFile(`${dir}/z`), "y\n");
    const plan = planFromJson((await hakoniwa(["explain", "--json", "--rootdir", `${dir}:rw`, "--", "true"])).stdout);
    assert.deepEqual(plan.root, { source: dir, readonly: false, layer: false });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest(
  "--rootdir EMPTYDIR keeps the policy's host binds (on the layer), as 1.x; --rootfs / binds the host's",
  async () => {
    const dir = await tempDir();
    try {
      const kiss = await hakoniwa(["run", "--rootdir", dir, "--", "/bin/ls", "/"]);
      assert.equal(kiss.code, 0, kiss.stderr);
      for (const d of ["bin", "dev", "lib", "proc", "tmp", "usr"]) {
        assert.ok(
          kiss.stdout.split("\n").includes(d),
          kiss.stdout,
        );
      }
      const rootfs = await hakoniwa([
        "run",
        "--rootdir",
        dir,
        "--rootfs",
        "/",
        "--",
        "/bin/ls",
        "/etc/passwd",
        "/sbin",
      ]);
      assert.equal(rootfs.code, 0, rootfs.stderr);
      assert.match(rootfs.stdout, /^\/etc\/passwd$/m);
      assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing made in the host's directory");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
