import assert from "node:assert/strict";
import { formatIdMap, mapsInside, singleIdMap } from "./idmap.ts";

Deno.test("id maps format as /proc/PID/uid_map lines", () => {
  assert.equal(formatIdMap(singleIdMap(0, 1000)), "0 1000 1\n");
  assert.equal(
    formatIdMap([{ container: 0, host: 1000, count: 1 }, { container: 1, host: 100000, count: 65536 }]),
    "0 1000 1\n1 100000 65536\n",
  );
});

Deno.test("mapsInside knows which ids a map covers", () => {
  const m = [{ container: 1, host: 100000, count: 10 }];
  assert.equal(mapsInside(m, 1), true);
  assert.equal(mapsInside(m, 10), true);
  assert.equal(mapsInside(m, 11), false);
  assert.equal(mapsInside(m, 0), false);
});
