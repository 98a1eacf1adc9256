/*
 * Caller side: an errno's name and text for messages (glibc's strerrorname_np and GNU strerror_r). Apart from
 * spawn.c so that the OCI runtime's static musl front end can link spawn.c without it.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "core.h"

int32_t hk_strerror(int32_t errnum, uint8_t *buf, size_t len) {
  const char *name = strerrorname_np(errnum);
  char text[256];
  const char *desc = strerror_r(errnum, text, sizeof(text));
  snprintf((char *)buf, len, "%s\t%s", name ? name : "", desc ? desc : "");
  return 0;
}
