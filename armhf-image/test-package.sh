#!/usr/bin/env bash
# Tests the Debian package in a Debian bookworm root of this machine's architecture (the package is
# architecture all), built here with mmdebstrap from the Debian mirror:
#   - install: dependencies (OpenJDK 17) come from the mirror; the user, the state folder, the
#     site file, the enabled unit; `leafgate --version` and `leafgate check`; systemd-analyze
#     verify and security on the installed unit;
#   - the installed gateway runs as user leafgate under a stand-in notification socket: ready,
#     /healthz, NATS, JetStream on SQLite, MQTT if built, watchdog pings, SIGHUP, SIGTERM exit 0;
#     then the class-data-sharing archive is built on the second start and used on the third;
#   - upgrade to a newer version keeps the store, the edited conffile and the site file;
#   - remove keeps the store and configuration; purge deletes them; a reinstall works.
# Network: the Debian mirror only; the gateway listens on loopback, on free ports.
#
#   armhf-image/test-package.sh          (DEB=path/to/leafgate.deb to test a built package)
# Run time: about 3 minutes (184 s measured; the root is built each time, packages are cached in
# LEAFGATE_CACHE).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# The whole script is one function, read before it runs: editing the file cannot disturb a run.
main() {

need_root
need_tools mmdebstrap:mmdebstrap python3:python3-minimal curl:curl
arch=$(dpkg --print-architecture)
deb=$(build_deb)
version=$(dpkg-deb -f "$deb" Version)

work=$(mktemp -d /var/tmp/leafgate-pkgtest.XXXXXX)
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

log "building a bookworm $arch root (mmdebstrap, variant apt, with systemd)"
debian_root "$root" "$arch" apt "systemd,ca-certificates" --skip=cleanup/apt/lists
pass "root built"
chroot_mount "$root"
in_root() { chroot "$root" "$@"; }

cp "$deb" "$root/tmp/leafgate_1.deb"
repack_deb "$deb" "${version}+upgrade" "$root/tmp/leafgate_2.deb"

# ---- install --------------------------------------------------------------------------------
log "installing $version with apt (pulls OpenJDK 17 from the mirror)"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/leafgate_1.deb >"$work/install.log" 2>&1 \
  || { tail -30 "$work/install.log"; die "install failed"; }
pass "installed"
[[ $(in_root getent passwd leafgate | cut -d: -f6,7) == /var/lib/leafgate:/usr/sbin/nologin ]] || die "user leafgate: $(in_root getent passwd leafgate)"
pass "system user leafgate ($(in_root getent passwd leafgate))"
[[ $(in_root stat -c '%U:%G %a' /var/lib/leafgate) == "leafgate:leafgate 750" ]] || die "state folder: $(in_root stat -c '%U:%G %a' /var/lib/leafgate)"
[[ $(in_root stat -c '%U:%G %a' /etc/leafgate/site.conf) == "root:leafgate 640" ]] || die "site.conf: $(in_root stat -c '%U:%G %a' /etc/leafgate/site.conf)"
[[ -L $root/etc/systemd/system/multi-user.target.wants/leafgate.service ]] || die "leafgate.service is not enabled"
pass "state folder, site.conf and unit enablement as expected"
out=$(in_root leafgate --version) || die "leafgate --version failed"
[[ $out == leafgate* ]] || die "leafgate --version said: $out"
pass "leafgate --version: $out"
out=$(in_root runuser -u leafgate -- leafgate --version) || die "leafgate --version as leafgate failed"
in_root leafgate check -c /etc/leafgate/leafgate.conf >/dev/null || die "the installed configuration does not check"
pass "leafgate check -c /etc/leafgate/leafgate.conf: valid"
printf 'listen: nowhere:99999\nbogus_key: 1\n' >"$root/tmp/bad.conf"
rc=0; in_root leafgate check -c /tmp/bad.conf >/dev/null 2>&1 || rc=$?
[[ $rc == 78 ]] || die "a bad configuration gave exit code $rc, not 78"
pass "a bad configuration gives exit code 78"

out=$(in_root systemd-analyze verify /lib/systemd/system/leafgate.service 2>&1) || die "systemd-analyze verify: $out"
[[ -z $out ]] || die "systemd-analyze verify printed: $out"
pass "systemd-analyze verify leafgate.service: no findings"
score=$(in_root systemd-analyze security --offline=true /lib/systemd/system/leafgate.service 2>&1 | sed -n 's/.*Overall exposure level for leafgate.service: //p')
[[ -n $score ]] || die "systemd-analyze security gave no score"
pass "systemd-analyze security leafgate.service: $score"

# ---- run ------------------------------------------------------------------------------------
gateway_checks "$root" "$work" 1 native
cds=$(ls "$root"/var/lib/leafgate/cds/*.classlist 2>/dev/null | head -n 1)
[[ -s $cds ]] || die "the first start recorded no class list"
pass "first start recorded $(wc -l <"$cds") classes for the class-data-sharing archive"

start_stop() { # LABEL: one start to ready and a clean stop; the log is $work/LABEL.log
  local pid rc=0
  rm -f "$root"/var/lib/leafgate/leafgate_*.ports
  chroot --userspec=leafgate:leafgate "$root" env -i PATH=/usr/bin:/bin LEAFGATE_STATE_DIR=/var/lib/leafgate \
    /usr/bin/leafgate run -c /etc/leafgate/leafgate.conf -a 127.0.0.1 -p -1 -m -1 --mqtt_port -1 >"$work/$1.log" 2>&1 &
  pid=$!
  GATEWAY_PID=$pid
  wait_ports "$root/var/lib/leafgate" 120 "$pid" >/dev/null || { cat "$work/$1.log"; die "$1: no start"; }
  START_CMDLINE=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  kill -TERM "$pid"
  wait_pid "$pid" 60 || rc=$?
  [[ $rc == 0 ]] || die "$1: exit code $rc"
}
start_stop second
grep -q 'archive built' "$work/second.log" || { cat "$work/second.log"; die "the second start built no archive"; }
pass "second start: $(grep -o 'archive built in [0-9]* s' "$work/second.log")"
start_stop third
[[ $START_CMDLINE == *SharedArchiveFile=* ]] || die "the third start did not use the archive: $START_CMDLINE"
! grep -qi 'shared archive\|\[cds\]' "$work/third.log" || { cat "$work/third.log"; die "the JVM complained about the archive"; }
pass "third start maps the archive ($(grep -o 'ready in [0-9]* ms' "$work/third.log"); first start: $(grep -o 'ready in [0-9]* ms' "$work/run-native.log"))"

# ---- upgrade --------------------------------------------------------------------------------
echo "marker" >"$root/var/lib/leafgate/keep-me"
chown 0:0 "$root/var/lib/leafgate/keep-me"
store_files=$(cd "$root/var/lib/leafgate" && sha256sum jetstream/leafgate.db) || die "no SQLite store file"
echo "# edited by the administrator" >>"$root/etc/leafgate/leafgate.conf"
echo "server_name: \"pkgtest\"" >>"$root/etc/leafgate/site.conf"
log "upgrading to ${version}+upgrade"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/leafgate_2.deb >"$work/upgrade.log" 2>&1 \
  || { tail -30 "$work/upgrade.log"; die "upgrade failed"; }
[[ $(in_root dpkg-query -W -f '${Version}' leafgate) == "${version}+upgrade" ]] || die "version after upgrade"
[[ -f $root/var/lib/leafgate/keep-me ]] || die "the upgrade lost the store folder"
[[ $(cd "$root/var/lib/leafgate" && sha256sum jetstream/leafgate.db) == "$store_files" ]] || die "the upgrade changed the store file"
grep -q 'edited by the administrator' "$root/etc/leafgate/leafgate.conf" || die "the upgrade replaced the edited conffile"
grep -q pkgtest "$root/etc/leafgate/site.conf" || die "the upgrade replaced site.conf"
[[ ! -e $root/var/lib/leafgate/cds ]] || die "the old class-data-sharing archive survived the upgrade"
pass "upgrade kept the store, the edited leafgate.conf and site.conf, and dropped the old archive"
# The stream and its first message came through the upgrade: this publish is the second.
EXPECT_SEQ=2 gateway_checks "$root" "$work" 1 upgraded
out=$(in_root leafgate --version)
pass "after upgrade: $out"

# ---- remove, purge, reinstall ---------------------------------------------------------------
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq leafgate >"$work/remove.log" 2>&1 || die "remove failed"
[[ ! -e $root/usr/bin/leafgate && -f $root/var/lib/leafgate/keep-me && -f $root/etc/leafgate/leafgate.conf ]] \
  || die "remove: launcher still there, or store/configuration gone"
pass "remove: program gone, store and configuration kept"
in_root dpkg --purge leafgate >"$work/purge.log" 2>&1 || die "purge failed"
[[ ! -e $root/var/lib/leafgate && ! -e $root/etc/leafgate && ! -e $root/etc/default/leafgate ]] || die "purge left files behind"
[[ ! -e $root/etc/systemd/system/multi-user.target.wants/leafgate.service ]] || die "purge left the enablement link"
pass "purge: store, configuration and enablement link gone (the system user stays, as is Debian practice)"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/leafgate_2.deb >"$work/reinstall.log" 2>&1 || die "reinstall failed"
in_root leafgate --version >/dev/null || die "leafgate --version after reinstall"
pass "reinstall after purge works"

pass "package test passed in $(($(date +%s) - t_start)) s"
}
main "$@"
