// Soak, small: 40 sandboxes in a row and 8 at once leave no fd, child, mount or temp file behind.
// The slow suite runs 1000 and 64 (tests/slow/soak_test.ts).
import { SKIP_REASON, WHO } from "../helpers.ts";
import { soak } from "./soak.ts";

Deno.test({
  name: `soak: 40 in a row and 8 at once leave nothing behind [${WHO}]`,
  ignore: SKIP_REASON !== null,
  sanitizeResources: false, // the core stays loaded
}, () => soak(40, 8));
