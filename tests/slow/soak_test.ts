// Slow suite: 1000 sandboxes in a row and 64 at once leave no fd, child, mount or temp file behind.
import { SKIP_REASON, WHO } from "../helpers.ts";
import { soak } from "../security/soak.ts";

const SLOW = Deno.env.get("HAKONIWA_SLOW") === "1";
if (!SLOW) console.log("soak_test: 1000 + 64 sandboxes run only in the slow suite (npm run test:slow)");

Deno.test({
  name: `soak: 1000 in a row and 64 at once leave nothing behind [${WHO}]`,
  ignore: !SLOW || SKIP_REASON !== null,
  sanitizeResources: false,
}, () => soak(1000, 64));
