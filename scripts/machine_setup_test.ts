import assert from "node:assert/strict";
import { hasRange, type Machine, RANGES, setUpMachine, TEST_USER } from "./machine_setup.ts";

/** A machine in a temp directory: subordinate id files there, and users that exist only once useradd ran. */
async function fakeMachine(subuid: string | null, userExists: boolean) {
  const dir = await Deno.makeTempDir({ prefix: "hakoniwa-setup-" });
  const calls: string[] = [];
  let exists = userExists;
  if (subuid !== null) {
    await Deno.writeTextFile(`${dir}/subuid`, subuid);
    await Deno.writeTextFile(`${dir}/subgid`, subuid);
  }
  const m: Machine = {
    subuid: `${dir}/subuid`,
    subgid: `${dir}/subgid`,
    cgroupParents: () => [],
    run(cmd, args) {
      calls.push([cmd, ...args].join(" "));
      if (cmd === "useradd") exists = true;
      if (cmd === "id") return Promise.resolve(exists ? "1001\n" : null);
      return Promise.resolve("");
    },
  };
  return { m, dir, calls };
}

Deno.test("machine set-up on a fresh machine: creates the user, grants root and it ranges, says so", async () => {
  const { m, dir, calls } = await fakeMachine(null, false);
  try {
    const changed = await setUpMachine(m);
    assert.ok(calls.includes(`useradd --no-create-home --shell /bin/sh ${TEST_USER}`), calls.join("\n"));
    assert.equal(changed.length, 5, changed.join("\n"));
    for (const file of [m.subuid, m.subgid]) {
      const text = await Deno.readTextFile(file);
      assert.ok(hasRange(text, "root", 0), text);
      assert.ok(hasRange(text, TEST_USER, 1001), text);
      assert.match(text, new RegExp(`^root:${RANGES.root.start}:65536$`, "m"));
    }
    // Idempotent: a second run changes nothing.
    assert.deepEqual(await setUpMachine(m), []);
    assert.equal((await Deno.readTextFile(m.subuid)).split("\n").filter(Boolean).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("machine set-up keeps what is there: ranges by name or uid, a last line without newline", async () => {
  const { m, dir, calls } = await fakeMachine(`0:200000:65536\n${TEST_USER}:100000:65536`, true);
  try {
    assert.deepEqual(await setUpMachine(m), []);
    assert.ok(!calls.some((c) => c.startsWith("useradd")));
    await Deno.writeTextFile(m.subgid, `other:100000:65536`);
    const changed = await setUpMachine(m);
    assert.deepEqual(changed.map((l) => l.split(" ")[1]), ["root", TEST_USER]);
    assert.equal(
      await Deno.readTextFile(m.subgid),
      `other:100000:65536\nroot:1000000000:65536\n${TEST_USER}:1000065536:65536\n`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("machine set-up fails, naming the user, when useradd cannot create it", async () => {
  const { m, dir } = await fakeMachine("", false);
  m.run = (cmd) => Promise.resolve(cmd === "id" ? null : "");
  try {
    await assert.rejects(setUpMachine(m), new RegExp(`cannot create the user ${TEST_USER}`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hasRange: a zero count or a malformed line grants nothing", () => {
  assert.equal(hasRange("root:100000:0\n", "root", 0), false);
  assert.equal(hasRange("root:x:65536\n", "root", 0), false);
  assert.equal(hasRange("rooted:100000:65536\n", "root", 0), false);
  assert.equal(hasRange("0:100000:65536\n", "root", 0), true);
});
