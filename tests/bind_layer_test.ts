// Integration tests of mount points inside read-only binds: the bind is an overlay of a new tmpfs over its source
// (src/plan/root_layer.ts, HK_MF_LAYER), read-only once built, so what the plan makes in it never reaches the host;
// and a mount never hides one given earlier beneath its target (src/plan/mount_order.ts), as in 1.x.
import assert from "node:assert/strict";
import { Container } from "../mod.ts";
import { loadNativeSync } from "../src/native/ffi.ts";
import { planFromJson } from "../src/plan/json.ts";
import { compileProfile, defaultProfile } from "../src/seccomp/profile.ts";
import { hakoniwa, sandboxSh, sandboxTest, SKIP_REASON, tempDir } from "./helpers.ts";

if (!SKIP_REASON) {
  loadNativeSync();
  compileProfile(defaultProfile());
}

/** Every entry beneath dir (not following links) with its type, mode, size and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string) => {
    const st = Deno.lstatSync(path);
    out[path.slice(dir.length) || "/"] = [st.isDirectory ? "d" : "f", st.mode?.toString(8), st.mtime?.getTime()].join(
      " ",
    );
    if (st.isDirectory) { for (const e of Deno.readDirSync(path)) walk(`${path}/${e.name}`); }
  };
  walk(dir);
  return out;
}

/** A host tree like 1.x's fixture: etc/os-release, usr/share/doc/x, bin/tool, lib/libx; old times. */
async function tree(): Promise<string> {
  const dir = await tempDir();
  for (const d of ["etc", "usr/share/doc", "bin", "lib"]) await Deno.mkdir(`${dir}/${d}`, { recursive: true });
  for (const f of ["etc/os-release", "usr/share/doc/x", "bin/tool", "lib/libx"]) {
    await Deno.writeTextFile(`${dir}/${f}`, f);
  }
  for (const p of ["etc", "usr", "usr/share", "bin", "lib"]) await Deno.utime(`${dir}/${p}`, 1_000_000, 1_000_000);
  await Deno.chmod(dir, 0o755);
  return dir;
}

sandboxTest(
  "a mount point inside a read-only bind is made on a tmpfs layer; the host's directory is unchanged",
  async () => {
    const dir = await tree();
    try {
      const before = snapshot(dir);
      const flags = ["-b", `${dir}/etc:/a1`, "-b", `${dir}/usr:/a1/b1`, "--tmpfs", "/a1/t", "--dir", "/a1/d/e"];
      const r = await sandboxSh(
        "ls /a1/b1; ls /a1; cat /a1/os-release; echo; touch /a1/new 2>&1; mkdir /a1/b1/m 2>&1; " +
          String.raw`sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* /a1 \([^ ]*\) .*- \([^ ]*\) .*|\1 \2|p' /proc/self/mountinfo`,
        flags,
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.deepEqual(lines.slice(0, 6), ["share", "b1", "d", "os-release", "t", "etc/os-release"]);
      assert.equal(lines.filter((l) => /Read-only file system/.test(l)).length, 2, r.stdout);
      const [options, fstype] = lines.at(-1)!.split(" ");
      for (const o of ["ro", "nosuid", "nodev"]) assert.ok(options.split(",").includes(o), `${o} in ${options}`);
      assert.equal(fstype, "overlay");
      assert.deepEqual(snapshot(dir), before, "no new entry, no changed mtime in the host's directory");
      // explain says so; a bind that has every mount point needs no layer.
      const plan = planFromJson((await hakoniwa(["explain", "--json", ...flags, "--", "true"])).stdout);
      const a1 = plan.mounts.find((m) => m.target === "/a1");
      assert.deepEqual(a1, { kind: "bind", source: `${dir}/etc`, target: "/a1", readonly: true, layer: true });
      const plain = await hakoniwa([
        "explain",
        "--json",
        "-b",
        `${dir}/usr:/u`,
        "-b",
        `${dir}/bin:/u/share`,
        "--",
        "true",
      ]);
      assert.ok(!planFromJson(plain.stdout).mounts.some((m) => m.kind === "bind" && m.layer), "all there: no layer");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

sandboxTest("a bind into the read-only /usr of the KISS policy (root-owned, so rootless too)", async () => {
  const dir = await tree();
  try {
    const r = await sandboxSh("cat /usr/share/mydata/os-release; echo; ls /usr/bin/env", [
      "-b",
      `${dir}/etc:/usr/share/mydata`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "etc/os-release\n/usr/bin/env\n");
    // A read-only rootdir owned by root, with a mount point in one of its root-owned directories.
    const root = await hakoniwa([
      "run",
      "--rootdir",
      "/usr",
      "--tmpfs",
      "/share/hakoniwa-test",
      "--",
      "/bin/ls",
      "-d",
      "/share/hakoniwa-test",
    ]);
    assert.equal(root.code, 0, root.stderr);
    assert.equal(root.stdout, "/share/hakoniwa-test\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("binds given deepest first are made parents first, as 1.x (its library's nested case)", async () => {
  const dir = await tree();
  try {
    // 1.x's test_bindmount_ro_container_path_nested, with this tree: c1, /a1, c2, then b1.
    const c = new Container().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRo("/lib64", "/lib64", {
      optional: true,
    })
      .bindRo(`${dir}/bin`, "/a1/b1/c1")
      .bindRo(`${dir}/etc`, "/a1")
      .bindRo(`${dir}/lib`, "/a1/b1/c2")
      .bindRo(`${dir}/usr`, "/a1/b1");
    for (const path of ["/a1/b1/c1/tool", "/a1/os-release", "/a1/b1/c2/libx", "/a1/b1/share/doc/x"]) {
      const out = await c.command("/bin/ls", { args: [path] }).output();
      assert.equal(new TextDecoder().decode(out.stdout), `${path}\n`, new TextDecoder().decode(out.stderr));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

sandboxTest("a layer keeps the host's modes, and its owners where the namespace maps them", async () => {
  const dir = await tree();
  try {
    await Deno.chmod(`${dir}/usr/share`, 0o750);
    const r = await sandboxSh("stat -c '%a %u' /a/share", ["-b", `${dir}/usr:/a`, "--tmpfs", "/a/share/t"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `750 ${Deno.uid()}\n`, "the caller's own directory: mapped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
