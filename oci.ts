/**
 * `hakoniwa-oci`: an OCI runtime with runc's command line (src/oci/app.ts), for podman (`--runtime`), containerd's
 * runc shim (`BinaryName`) and Kubernetes (a RuntimeClass). bin/hakoniwa-oci runs it; the only module of the
 * runtime that exits the process.
 *
 * ```sh
 * podman --runtime "$PWD/bin/hakoniwa-oci" run --rm --rootfs ./rootfs /bin/echo hi
 * ```
 *
 * @module
 */
import { runOci } from "./src/oci/app.ts";
import { serveDecider } from "./src/oci/decider.ts";

if (import.meta.main) {
  // bin/hakoniwa-oci starts the decider of a root this way (native/oci_decide.c).
  if (Deno.args[0] === "--decide-on" && Deno.args.length === 2) await serveDecider(Deno.args[1]);
  else Deno.exit(await runOci(Deno.args));
  Deno.exit(0);
}
