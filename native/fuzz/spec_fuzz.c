/*
 * libFuzzer harness of the spec decoder (native/spec.c hk_spec_decode).
 * Not part of the library. Build and run: tests/slow/native_fuzz_test.ts, or
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Inative native/fuzz/spec_fuzz.c native/spec.c \
 *     -o /tmp/spec_fuzz && /tmp/spec_fuzz -max_total_time=60 native/fuzz/corpus
 * The same file builds without libFuzzer as a driver (-DHK_FUZZ_DRIVER): it
 * decodes every file named on the command line, then random mutations of
 * them, under ASan and UBSan with gcc.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The decoder wants an 8-byte aligned buffer, as src/run/spec.ts provides. */
  uint8_t *buf = aligned_alloc(8, (size + 15) & ~(size_t)7);
  if (!buf) return 0;
  memcpy(buf, data, size);
  struct hk_spec s;
  const char *why = NULL;
  if (hk_spec_decode(buf, size, &s, &why) == 0) {
    /* Touch everything the child would read, so a bad pointer shows up here. */
    size_t n = 0;
    for (size_t i = 0; i < s.n_mounts; i++) n += strlen(s.mounts[i].src) + strlen(s.mounts[i].dst);
    for (size_t i = 0; s.argv[i]; i++) n += strlen(s.argv[i]);
    for (size_t i = 0; s.envp[i]; i++) n += strlen(s.envp[i]);
    n += strlen(s.program) + strlen(s.search_path) + strlen(s.cwd) + strlen(s.root_src);
    if (s.uid_map) n += strlen(s.uid_map);
    if (s.hostname) n += strlen(s.hostname);
    for (size_t i = 0; i < s.n_ll_rules; i++) n += s.ll_rules[i].path ? strlen(s.ll_rules[i].path) : 0;
    if (s.filter.len) { /* not necessarily aligned inside the spec: the kernel copies it bytewise */
      struct sock_filter last;
      memcpy(&last, (const uint8_t *)s.filter.filter + (s.filter.len - 1) * sizeof(last), sizeof(last));
      n += last.k;
    }
    (void)n;
    hk_spec_free(&s);
  } else if (!why) {
    abort(); /* every rejection names its reason */
  }
  free(buf);
  return 0;
}

#ifdef HK_FUZZ_DRIVER
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

int main(int argc, char **argv) {
  long rounds = getenv("HK_FUZZ_ROUNDS") ? atol(getenv("HK_FUZZ_ROUNDS")) : 20000;
  static uint8_t seeds[64][65536];
  size_t lens[64], n = 0;
  for (int i = 1; i < argc && n < 64; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) return perror(argv[i]), 2;
    lens[n] = fread(seeds[n], 1, sizeof(seeds[n]), f);
    fclose(f);
    LLVMFuzzerTestOneInput(seeds[n], lens[n]);
    n++;
  }
  if (!n) return fprintf(stderr, "no seeds\n"), 2;
  static uint8_t buf[65536 + 64];
  for (long r = 0; r < rounds; r++) {
    size_t k = next() % n, len = lens[k];
    memcpy(buf, seeds[k], len);
    int edits = 1 + (int)(next() % 8);
    for (int e = 0; e < edits; e++) {
      size_t at = len ? next() % len : 0;
      switch (next() % 5) {
      case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
      case 1: buf[at] = (uint8_t)next(); break;
      case 2: { uint32_t v = (uint32_t[]){0, 1, 0xffffffffu, 0x7fffffffu, 0x10000u}[next() % 5];
                if (at + 4 <= len) memcpy(buf + at, &v, 4); } break;
      case 3: len = at; break; /* truncate */
      case 4: if (len + 8 < sizeof(buf)) { memset(buf + len, (int)next(), 8); len += 8; } break;
      }
    }
    /* Keep the header's total in step half of the time, so records get decoded. */
    if ((next() & 1) && len >= 12) { uint32_t t = (uint32_t)len; memcpy(buf + 8, &t, 4); }
    LLVMFuzzerTestOneInput(buf, len);
  }
  printf("decoded %zu seeds and %ld mutations\n", n, rounds);
  return 0;
}
#endif
