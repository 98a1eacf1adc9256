// Class: wrong credentials after setup. The running payload's /proc/PID/status for every uid mapping
// and namespace option, under the default and the strong policy.
import assert from "node:assert/strict";
import { IS_ROOT, sandboxTest } from "../helpers.ts";
import { inSandbox, parseStatus, policies } from "./probe.ts";

const UIDS: { name: string; flags: string[]; uid: number | null; gid: number | null }[] = [
  { name: "--uid 0", flags: ["--uid", "0", "--gid", "0"], uid: 0, gid: 0 },
  { name: "default", flags: [], uid: null, gid: null },
  { name: "--uid 4242", flags: ["--uid", "4242", "--gid", "4343"], uid: 4242, gid: 4343 },
];
const NS: string[][] = [[], ["--share-net"], ["--share-uts"], ["--share-net", "--share-uts"]];
const ZERO = "0000000000000000";

/** The status of the payload itself (cat reads its own), and of a payload that is not the first process. */
async function statusOf(flags: string[]) {
  const r = await inSandbox(flags, ["/bin/sh", "-c", "cat /proc/self/status; sleep 0 & wait"]);
  assert.equal(r.code, 0, r.stderr);
  return parseStatus(r.stdout);
}

sandboxTest(
  "credentials: Uid/Gid as asked, no capability in any set, NoNewPrivs 1 (uid x namespace x policy)",
  async () => {
    const me = { uid: Deno.uid()!, gid: Deno.gid()! };
    for (const p of await policies()) {
      for (const u of UIDS) {
        for (const ns of NS) {
          const what = `${p.name} ${u.name} ${ns.join(" ") || "no sharing"}`;
          const st = await statusOf([...p.flags, ...u.flags, ...ns]);
          const uid = u.uid ?? me.uid, gid = u.gid ?? me.gid;
          assert.equal(st.get("Uid"), `${uid}\t${uid}\t${uid}\t${uid}`, what);
          assert.equal(st.get("Gid"), `${gid}\t${gid}\t${gid}\t${gid}`, what);
          for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) {
            assert.equal(
              st.get(cap),
              ZERO,
              `${what} ${cap}`,
            );
          }
          assert.equal(st.get("NoNewPrivs"), "1", what);
          assert.equal(st.get("Groups"), IS_ROOT ? "" : st.get("Groups"), what);
        }
      }
    }
  },
);

sandboxTest("credentials: Seccomp 2 under the default policy (needs the default seccomp profile)", async () => {
  for (const p of await policies()) {
    const st = await statusOf(p.flags);
    assert.equal(st.get("Seccomp"), "2", `${p.name}: the payload runs without a seccomp filter`);
    assert.ok(Number(st.get("Seccomp_filters")) >= 1, p.name);
  }
});

sandboxTest(
  "credentials: --seccomp unconfined has the guard alone, one filter (needs the --seccomp flag)",
  async () => {
    const st = await statusOf(["--seccomp", "unconfined"]);
    assert.equal(st.get("Seccomp"), "2");
    assert.equal(st.get("Seccomp_filters"), "1");
  },
);
