#!/bin/sh
# Debian packages that building the native core (gcc, musl-gcc) and the tests need (busybox-static: the small root
# of tests/compat and tests/oci; curl and openssl: the --allow-net tests' client and their HTTPS server's certificate;
# podman, containerd and runc: the OCI runtime's callers and its yardstick). Run before `npm test` (npm's pretest): as root it installs what is missing; otherwise it names
# what is missing and goes on.
set -u
pkgs="gcc libc6-dev musl-tools util-linux libseccomp2 python3 strace bubblewrap passt tmux clang iproute2 procps keyutils uidmap busybox-static nodejs zsh fish elvish curl openssl podman containerd runc"
need=""
for p in $pkgs; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages:$need"
    apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null 2>&1 || echo "apt-get install$need failed"
  else
    echo "missing Debian packages (install them as root):$need"
  fi
fi
# pasta (--network pasta) opens /dev/net/tun as the calling user: give it Debian's default mode (udev's 0666),
# which some container images lack, so the rootless run can use pasta too.
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ]; then chmod 0666 /dev/net/tun 2>/dev/null; fi
exit 0
