/* Front end side: create through the decider (native/oci_decide.c). */
#ifndef HK_OCI_DECIDE_H
#define HK_OCI_DECIDE_H

#include <stddef.h>

/*
 * Runs `create` (args: the command line after the program's name) through the decider of root, which runs script
 * (bin/hakoniwa-oci.js), its socket's path put in path (cap bytes): returns the exit code, or -1 when no decider
 * served it (none listens: start(socket) starts one for the calls after this one), and the caller runs create in
 * Deno.
 */
int oci_decide_create(const char *root, const char *script, char **args, void (*start)(const char *socket),
                      char *path, size_t cap);

#endif
