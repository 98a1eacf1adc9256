// Class: setup follows a symlink out of the new root (and check-then-use races on host paths).
import assert from "node:assert/strict";
import { hakoniwa, IS_ROOT, SKIP_REASON, tempDir, WHO } from "../helpers.ts";
import { Container } from "../../src/container.ts";
import { buildPlan, currentHost } from "../../src/plan/plan.ts";
import { startSandbox } from "../../src/run/runner.ts";

const SLOW = Deno.env.get("HAKONIWA_SLOW") === "1";

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      out.push(`${d}/${e.name}`.slice(dir.length));
      if (e.isDirectory) walk(`${d}/${e.name}`);
    }
  };
  walk(dir);
  return out.sort();
}

// The library keeps the core loaded (Deno.dlopen): no resource sanitizer.
Deno.test({
  name: `symlink: a bind source swapped for a symlink after the plan was built fails closed [${WHO}]`,
  ignore: SKIP_REASON !== null,
  sanitizeResources: false,
}, async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/shared/src`, { recursive: true });
    await Deno.mkdir(`${dir}/secret`);
    const c = Container.empty().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRw(`${dir}/shared/src`, "/w");
    if (currentHost().realPath("/lib64")) c.bindRo("/lib64");
    const plan = buildPlan(c.settings, { program: "/bin/sh", args: ["-c", "touch /w/pwned"] }, currentHost());
    // Another user who can write shared/ swaps the source for a link to the victim's directory.
    await Deno.remove(`${dir}/shared/src`);
    await Deno.symlink(`${dir}/secret`, `${dir}/shared/src`);
    const sb = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: IS_ROOT });
    const report = await sb.finished;
    assert.equal(report.status, "SE");
    assert.match(report.reason, /open-source: .*Too many levels of symbolic links/);
    assert.deepEqual(tree(`${dir}/secret`), [], "the bind followed the swapped symlink");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: `symlink: mount points planted as symlinks in a writable bind are refused, nothing is created outside [${WHO}]`,
  ignore: SKIP_REASON !== null,
  sanitizeResources: false,
}, async () => {
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/w`);
    await Deno.mkdir(`${dir}/outside`);
    await Deno.symlink(`${dir}/outside`, `${dir}/w/sub`); // a directory the plan would create
    await Deno.symlink(`${dir}/outside/f`, `${dir}/w/file`); // a file mount point
    for (const [src, dst] of [["/usr/share", "/w/sub/share"], ["/etc/hostname", "/w/file"], ["/usr/share", "/w/sub"]]) {
      // The library keeps this order: the writable bind first, then mount points inside it.
      const c = Container.empty().bindRo("/usr").bindRo("/bin").bindRo("/lib").bindRw(`${dir}/w`, "/w").bindRo(
        src,
        dst,
      );
      if (currentHost().realPath("/lib64")) c.bindRo("/lib64");
      const plan = buildPlan(c.settings, { program: "/bin/sh", args: ["-c", "touch /w/ran"] }, currentHost());
      const sb = await startSandbox(plan, { stdio: [0, 1, 2], session: "new", setgroups: IS_ROOT });
      const report = await sb.finished;
      assert.equal(report.status, "SE", `${dst}: ${report.reason}`);
      assert.match(report.reason, /(mkdir|bind): .*(Too many levels of symbolic links|Not a directory)/);
      assert.deepEqual(tree(`${dir}/outside`), []);
      assert.ok(!tree(`${dir}/w`).includes("/ran"));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: `symlink race: a swapper turns every planned host path into symlinks while sandboxes start [${WHO}]`,
  ignore: SKIP_REASON !== null,
}, async () => {
  const dir = await tempDir();
  const rounds = SLOW ? 300 : 25;
  try {
    await Deno.mkdir(`${dir}/w`);
    await Deno.mkdir(`${dir}/src`);
    await Deno.mkdir(`${dir}/outside`);
    await Deno.writeTextFile(`${dir}/outside/keep`, "keep\n");
    // The swapper flips the bind source, the mount points created in the rw bind (dir and file), as fast as it can.
    const swap = `
      cd '${dir}'
      while :; do
        rm -rf src w/a w/f 2>/dev/null; ln -s outside src; ln -s ../outside w/a; ln -s ../outside/f w/f
        rm -f src w/a w/f 2>/dev/null; mkdir -p src w/a; : > w/f
      done`;
    const swapper = new Deno.Command("sh", { args: ["-c", swap], stdout: "null", stderr: "null" }).spawn();
    const codes = new Map<number, number>();
    try {
      for (let i = 0; i < rounds; i++) {
        const r = await hakoniwa([
          "run",
          "--rw-bind",
          `${dir}/w:/w`,
          "--ro-bind",
          `${dir}/src:/src`,
          "--ro-bind",
          "/usr/share:/w/a/b",
          "--ro-bind",
          "/etc/hostname:/w/f",
          "--",
          "/bin/sh",
          "-c",
          "touch /w/a/b/x /w/a/y /src/z 2>/dev/null; true",
        ]);
        codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        assert.ok(r.code === 0 || r.code === 125, `exit ${r.code}: ${r.stderr}`);
      }
    } finally {
      swapper.kill("SIGKILL");
      await swapper.status;
    }
    assert.deepEqual(tree(`${dir}/outside`), ["/keep"], "something was created outside");
    assert.equal(await Deno.readTextFile(`${dir}/outside/keep`), "keep\n");
    console.log(`exit codes over ${rounds} races: ${JSON.stringify([...codes])}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
