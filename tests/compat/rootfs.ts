/**
 * The small root 1.x's cases use in place of its Alpine tree, shared by the
 * CLI cases (compat_test.ts) and the library cases (library_test.ts).
 *
 * @module
 */
import { buildRootfs } from "../rootfs.ts";

/** A fresh temp directory holding that root with the fixture's /etc; the caller removes it. */
export function makeRootfs(): string {
  const dir = Deno.makeTempDirSync({ prefix: "hakoniwa-rootfs-" });
  buildRootfs(dir);
  const etc = new URL("./fixtures/rootfs/etc/", import.meta.url).pathname;
  for (const e of Deno.readDirSync(etc)) Deno.copyFileSync(`${etc}${e.name}`, `${dir}/etc/${e.name}`);
  return dir;
}
