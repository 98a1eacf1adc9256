#!/bin/sh
# Builds the native core: native/build/hakoniwa-init (the static init program, with musl-gcc from Debian's
# musl-tools) and native/build/libhakoniwa.so (the library, with cc), which carries the init program inside. The
# library is never unloaded (-z nodelete): a worker thread may still be inside hk_wait when Deno exits and closes it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
mkdir -p "$out/kernel-include"
flags="-std=gnu11 -Wall -Wextra -Werror -fno-asynchronous-unwind-tables -ffile-prefix-map=$here=native"

# musl's headers do not include the kernel's: point it at the uapi headers (linux-libc-dev) and nothing else.
arch_inc=/usr/include/$(${CC:-cc} -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for d in /usr/include/linux /usr/include/asm-generic "$arch_inc/asm"; do
  ln -sfn "$d" "$out/kernel-include/$(basename "$d")"
done
if ! command -v "${MUSL_CC:-musl-gcc}" >/dev/null 2>&1; then
  echo "native/build.sh: musl-gcc is missing (Debian: apt-get install musl-tools)" >&2
  exit 1
fi
${MUSL_CC:-musl-gcc} $flags -Os -static -ffunction-sections -fdata-sections -isystem "$out/kernel-include" -Wl,--build-id=sha1 -Wl,-z,noexecstack \
  -Wl,-z,noseparate-code -Wl,--gc-sections -s \
  -o "$out/hakoniwa-init.tmp" "$here/monitor.c" "$here/cgroup.c" "$here/cgroup_tree.c" "$here/child.c" "$here/mounts.c" "$here/exec.c" \
  "$here/restrict.c" "$here/relay.c" "$here/fail.c" "$here/spec.c"
mv "$out/hakoniwa-init.tmp" "$out/hakoniwa-init"

${CC:-cc} $flags -O2 -fPIC -shared -fvisibility=hidden -Wa,-I,"$out" -Wl,--build-id=sha1 -Wl,-z,noexecstack -Wl,-z,nodelete \
  -Wl,-z,noseparate-code -s \
  -o "$out/libhakoniwa.so.tmp" "$here/spawn.c" "$here/init_image.c" "$here/init_image.S" "$here/landlock.c" \
  "$here/seccomp_host.c" "$here/pty.c" "$here/reactor.c" "$here/host_read.c" "$here/safe_open.c" "$here/fail.c" "$here/spec.c" \
  "$here/errno_text.c" "$here/cgroup_tree.c"
mv "$out/libhakoniwa.so.tmp" "$out/libhakoniwa.so"

# bin/hakoniwa-oci, the OCI runtime's front end (static, like hakoniwa-init; it spawns what the decider decides, so it
# carries hakoniwa-init too): scripts/generate.ts copies it there.
${MUSL_CC:-musl-gcc} $flags -Os -static -ffunction-sections -fdata-sections -isystem "$out/kernel-include" -Wl,--build-id=sha1 -Wl,-z,noexecstack \
  -Wa,-I,"$out" -Wl,--gc-sections -s -o "$out/hakoniwa-oci.tmp" "$here/oci_front.c" "$here/oci_decide.c" "$here/spawn.c" \
  "$here/init_image.c" "$here/init_image.S" "$here/pty.c" "$here/fail.c" "$here/spec.c" "$here/cgroup_tree.c"
mv "$out/hakoniwa-oci.tmp" "$out/hakoniwa-oci"
