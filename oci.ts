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

if (import.meta.main) Deno.exit(await runOci(Deno.args));
