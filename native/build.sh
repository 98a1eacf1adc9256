#!/bin/sh
# Builds the native core: native/build/libhakoniwa.so. Needs only a C compiler and libc headers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
mkdir -p "$out"
${CC:-cc} -std=gnu11 -O2 -fPIC -shared -Wall -Wextra -Werror -fvisibility=hidden \
  -fno-asynchronous-unwind-tables -ffile-prefix-map="$here"=native -Wl,--build-id=sha1 -Wl,-z,noexecstack \
  -o "$out/libhakoniwa.so.tmp" $(ls "$here"/*.c | LC_ALL=C sort)
mv "$out/libhakoniwa.so.tmp" "$out/libhakoniwa.so"
