// Unit tests of the newuidmap/newgidmap checks: clear errors before anything runs.
import assert from "node:assert/strict";
import { autoIdMaps, grantedRanges, type HelperHost, needsIdMapHelper, prepareIdMapHelpers } from "./idmap_helper.ts";
import type { Plan } from "./plan.ts";

Deno.test("only a single range of one's own id needs no helper; root never does", () => {
  assert.equal(needsIdMapHelper([{ container: 0, host: 1000, count: 1 }], 1000, 1000), false);
  assert.equal(needsIdMapHelper([{ container: 0, host: 1000, count: 2 }], 1000, 1000), true);
  assert.equal(needsIdMapHelper([{ container: 0, host: 5, count: 1 }], 1000, 1000), true);
  assert.equal(needsIdMapHelper([{ container: 0, host: 5, count: 100 }], 0, 0), false);
});

Deno.test("missing helpers and missing /etc/subuid grants are clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/passwd`, "me:x:1000:1000::/home/me:/bin/sh\n");
    await Deno.writeTextFile(`${dir}/subuid`, "me:100000:65536\nother:200000:10\n");
    await Deno.writeTextFile(`${dir}/subgid`, "1000:100000:65536\n");
    await Deno.mkdir(`${dir}/bin`);
    const host: HelperHost = {
      uid: 1000,
      gid: 1000,
      passwd: `${dir}/passwd`,
      subuid: `${dir}/subuid`,
      subgid: `${dir}/subgid`,
      path: [`${dir}/bin`],
    };
    assert.deepEqual(grantedRanges(host.subgid, "me", 1000), [{ start: 100000, count: 65536 }]);
    const plan = {
      uidMap: [{ container: 0, host: 100000, count: 1000 }, { container: 1000, host: 1000, count: 1 }],
      gidMap: [{ container: 0, host: 1000, count: 1 }],
    } as Plan;
    assert.throws(() => prepareIdMapHelpers(plan, host), /needs newuidmap \(Debian package uidmap\), which is not/);
    await Deno.writeTextFile(`${dir}/bin/newuidmap`, "");
    assert.deepEqual(prepareIdMapHelpers(plan, host), { newuidmap: `${dir}/bin/newuidmap`, newgidmap: null });
    const far = { ...plan, uidMap: [{ container: 0, host: 200000, count: 5 }, ...plan.uidMap.slice(1)] };
    assert.throws(
      () => prepareIdMapHelpers(far, host),
      /subuid grants me no range holding host uids 200000\.\.200004 \(granted: 100000\.\.165535\)/,
    );
    assert.equal(prepareIdMapHelpers({ ...plan, uidMap: [plan.uidMap[1]] } as Plan, host), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("autoIdMaps: 0 is the caller, 1 onwards the caller's first /etc/subuid and /etc/subgid range", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/passwd`, "me:x:1000:1000::/home/me:/bin/sh\n");
    await Deno.writeTextFile(`${dir}/subuid`, "other:1:5\nme:100000:65536\nme:300000:10\n");
    await Deno.writeTextFile(`${dir}/subgid`, "1000:200000:1000\n");
    const host = { uid: 1000, gid: 1000, passwd: `${dir}/passwd`, subuid: `${dir}/subuid`, subgid: `${dir}/subgid` };
    const maps = autoIdMaps({ ...host, path: [] });
    assert.deepEqual(maps.uidMaps, [{ container: 0, host: 1000, count: 1 }, {
      container: 1,
      host: 100000,
      count: 65536,
    }]);
    assert.deepEqual(maps.gidMaps, [{ container: 0, host: 1000, count: 1 }, {
      container: 1,
      host: 200000,
      count: 1000,
    }]);
    const none = autoIdMaps({ ...host, uid: 2000, gid: 2000, path: [] });
    assert.deepEqual(none.uidMaps, [{ container: 0, host: 2000, count: 1 }]);
    assert.deepEqual(none.gidMaps, [{ container: 0, host: 2000, count: 1 }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
