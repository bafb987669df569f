#!/usr/bin/env bash
# Runs the gateway as it runs on a Pi, without a Pi: a Debian bookworm armhf root (mmdebstrap from
# the Debian mirror) with the leafgate package and Debian's armhf OpenJDK 17, executed through
# qemu-user (binfmt). Checks, as in test-package.sh but on the armhf JVM: ready (sd_notify
# READY=1 to a stand-in socket), /healthz, a NATS publish from the host, a JetStream publish
# committed to SQLite (sqlite-jdbc's armhf native library), an MQTT publish when the build has
# MQTT, watchdog pings, SIGHUP, and a clean SIGTERM stop (exit code 0).
#
#   armhf-image/test-emulated.sh        (DEB=path/to/leafgate.deb; ARCH=arm64 for the 64-bit JVM)
# Run time: about 12 minutes on 2 shared cores (702 s measured: 8 minutes building the root and
# 3 installing OpenJDK and the package under emulation; the gateway is ready in about 30 s).
#
# The store is on a tmpfs: under qemu-user a 32-bit program on a 64-bit kernel gets 64-bit
# directory offsets from ext4 and fails with EOVERFLOW ("Value too large for defined data type")
# when listing a folder. A real Pi's kernel gives 32-bit programs 32-bit offsets.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# The whole script is one function, read before it runs: editing the file cannot disturb a run.
main() {

ARCH=${ARCH:-armhf}
case $ARCH in
  armhf) qemu=qemu-arm ;;
  arm64) qemu=qemu-aarch64 ;;
  *) die "ARCH must be armhf or arm64" ;;
esac
need_root
need_tools mmdebstrap:mmdebstrap python3:python3-minimal curl:curl
need_binfmt "$qemu"
deb=$(build_deb)

work=$(mktemp -d /var/tmp/leafgate-emutest.XXXXXX)
root=$work/root
GATEWAY_PID=
cleanup() {
  local rc=$?
  stop_helpers "$rc"
  chroot_umount "$root"
  [[ ${KEEP:-0} == 1 ]] && { log "kept $work"; return; }
  safe_rm_work "$work"
}
trap cleanup EXIT

log "building a bookworm $ARCH root with systemd (mmdebstrap under qemu-user: slow)"
debian_root "$root" "$ARCH" apt "systemd,ca-certificates" --skip=cleanup/apt/lists
pass "root built"
chroot_mount "$root"
cp "$deb" "$root/tmp/leafgate.deb"
log "installing the package and OpenJDK 17 ($ARCH) in the root"
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/leafgate.deb \
  >"$work/install.log" 2>&1 || { tail -30 "$work/install.log"; die "install failed"; }
pass "installed $(chroot "$root" dpkg-query -W -f '${Package} ${Version}' leafgate) with $(chroot "$root" dpkg-query -W -f '${Package} ${Version}' openjdk-17-jre-headless)"

uid=$(chroot "$root" id -u leafgate)
mount -t tmpfs -o "size=256m,mode=0750,uid=$uid,gid=$uid" tmpfs "$root/var/lib/leafgate"
arch_seen=$(chroot "$root" java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *os.arch = //p')
pass "the JVM in the root is $ARCH (os.arch=$arch_seen), run by $(basename "$(readlink -f /proc/sys/fs/binfmt_misc/"$qemu" 2>/dev/null || echo "$qemu")")"
t0=$(date +%s)
out=$(chroot "$root" leafgate --version) || die "leafgate --version failed"
pass "leafgate --version under emulation: $out ($(($(date +%s) - t0)) s)"

gateway_checks "$root" "$work" 10 "$ARCH"
grep -h 'ready in' "$work/run-$ARCH.log" | sed 's/^/    /' >&2 || true
pass "emulated $ARCH test passed in $(($(date +%s) - t_start)) s"
}
main "$@"
