/**
 * The network and Landlock flags of `run` and `explain` applied to a {@link Container} (the table that declares
 * them is src/cli/flags.ts): `--network`, `--allow-net`, `--landlock-*`.
 *
 * @module
 */
import type { Container } from "../container.ts";
import { UsageError } from "../common/errors.ts";
import { parsePort, parseResources } from "../plan/landlock.ts";
import { parseNetwork } from "../net/network.ts";
import { parseAllowNet } from "../net/allow.ts";

/**
 * Applies the network and Landlock flags.
 *
 * @example
 * ```ts
 * import { Container } from "jsr:@hakoniwa/cli";
 * import { applyIsolation } from "./isolation_flags.ts";
 * const c = Container.empty();
 * applyIsolation(c, { network: "host" });
 * console.log(c.settings.network?.mode); // "host"
 * ```
 */
export function applyIsolation(c: Container, o: Record<string, unknown>): void {
  const strings = (v: unknown) => (v ?? []) as string[];
  if (typeof o.network === "string") {
    const n = parseNetwork(o.network, "--network");
    if (o.shareNet && n.mode !== "host") throw new UsageError(`--share-net contradicts --network ${o.network}`);
    c.network(n.mode, n.options);
  }
  for (const v of strings(o.allowNet)) {
    if (o.shareNet || /^(host|pasta)/.test(String(o.network ?? ""))) {
      throw new UsageError(`--allow-net contradicts ${o.shareNet ? "--share-net" : `--network ${o.network}`}`);
    }
    c.allowNet(...parseAllowNet(v, "--allow-net").map((r) => r.text));
  }
  for (const v of strings(o.landlockRestrict)) c.landlockRestrict(...parseResources(v, "--landlock-restrict"));
  const fsFlags = [
    ["--landlock-fs-ro", "landlockFsRo", "r"],
    ["--landlock-fs-rw", "landlockFsRw", "rw"],
    ["--landlock-fs-rx", "landlockFsRx", "rx"],
  ] as const;
  for (const [flag, key, access] of fsFlags) {
    for (const v of strings(o[key])) {
      // Paths separated by `:` or, as in 1.x, `,`.
      for (const path of v.split(/[:,]/)) {
        if (!path.startsWith("/")) throw new UsageError(`${flag}: expected absolute paths, got ${JSON.stringify(v)}`);
        c.landlockFs(path, access);
      }
    }
  }
  for (const v of strings(o.landlockTcpBind)) {
    for (const p of v.split(",")) c.landlockTcpBind(parsePort(p, "--landlock-tcp-bind"));
  }
  for (const v of strings(o.landlockTcpConnect)) {
    for (const p of v.split(",")) c.landlockTcpConnect(parsePort(p, "--landlock-tcp-connect"));
  }
  if (o.landlockBestEffort) c.landlockBestEffort();
  if (typeof o.landlockAbi === "string") {
    if (!/^\d+$/.test(o.landlockAbi)) {
      throw new UsageError(`--landlock-abi: expected a whole number, got "${o.landlockAbi}"`);
    }
    c.landlockAbi(Number(o.landlockAbi));
  }
}
