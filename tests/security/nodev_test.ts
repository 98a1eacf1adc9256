// Class: devices reached through the sandbox's mounts. Every mount is nodev unless a device is asked for: a device
// node in a --rootdir cannot be opened from inside. Needs root (to make the node); runs once the spec marks the root
// record NODEV (src/spec.ts, see README's Known limits).
import assert from "node:assert/strict";
import { Container } from "../../src/container.ts";
import { buildPlan, currentHost } from "../../src/plan.ts";
import { encodeSpec } from "../../src/spec.ts";
import { hakoniwa, IS_ROOT, SKIP_REASON, tempDir } from "../helpers.ts";

/** The flags of the ROOT record (tag 5) that encodeSpec writes for a rootdir plan. */
function rootFlags(): number {
  const plan = buildPlan(Container.empty().rootdir("/").settings, { program: "/bin/true", args: [] }, currentHost());
  const spec = encodeSpec(plan, { stdio: [0, 1, 2], session: "new", setgroups: false });
  const view = new DataView(spec.buffer);
  for (let at = 12; at < spec.length;) {
    const tag = view.getUint16(at, true), len = view.getUint32(at + 4, true);
    if (tag === 5) return view.getUint32(at + 8, true);
    at += 8 + len;
  }
  throw new Error("no ROOT record");
}
const NODEV = 4;
const specMarksRoot = (rootFlags() & NODEV) !== 0;
if (!specMarksRoot) console.log("skipping the rootdir nodev test: src/spec.ts does not yet mark the root NODEV");

Deno.test({
  name: "nodev: a device node in a --rootdir (read-only or :rw) cannot be opened inside [root]",
  ignore: !IS_ROOT || SKIP_REASON !== null || !specMarksRoot,
}, async () => {
  const dir = await tempDir();
  try {
    for (const d of ["bin", "lib", "lib64", "usr", "proc", "dev", "tmp"]) await Deno.mkdir(`${dir}/${d}`);
    const mk = await new Deno.Command("mknod", { args: ["-m", "666", `${dir}/null-dev`, "c", "1", "3"] }).output();
    assert.ok(mk.success, "mknod failed");
    for (const rw of ["", ":rw"]) {
      const r = await hakoniwa([
        "run",
        "--rootdir",
        `${dir}${rw}`,
        "--",
        "/bin/sh",
        "-c",
        "echo x > /null-dev && echo opened || echo refused",
      ]);
      assert.match(
        r.stdout,
        /refused/,
        `--rootdir${rw}: a device node of the rootdir was opened:\n${r.stdout}${r.stderr}`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
