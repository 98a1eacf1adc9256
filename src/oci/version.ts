/**
 * The version of the OCI runtime.
 *
 * @module
 */

/** The version `--version` prints. */
export const OCI_RUNTIME_VERSION = "0.1.0";
