#!/usr/bin/env bash
# Boots the armhf image under qemu-system-arm and checks the appliance from the host: QEMU's virt
# board with the image as its disk, started with the kernel and initrd found on the image's own
# boot partition (Debian's armmp kernel boots on virt as on a Pi; the Pi firmware is not used). A
# leafgate.txt written onto the copy's boot partition first exercises first-boot provisioning.
# Checks: leafgate-firstboot applied the settings, systemd reports leafgate.service started (it
# is Type=notify, so that needs the gateway's READY=1), /healthz, a NATS publish and a JetStream
# publish through forwarded ports, MQTT when built, no watchdog timeout after two watchdog
# periods, and a clean power-off stop.
#
#   armhf-image/boot-test.sh [IMAGE]     (default: the newest armhf-image/out/*-armhf.img; an
#                                        *-arm64.img boots on qemu-system-aarch64, not measured)
# Run time: about 16 minutes on 2 shared cores (957 s measured: login prompt after 6 minutes, the
# gateway answering 2 minutes later, two watchdog periods, a restart that builds the
# class-data-sharing archive in 3 minutes, power-off).
# Network: QEMU user networking with restrict=on: the guest reaches nothing; the host reaches the
# guest through ports forwarded on 127.0.0.1 only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# The whole script is one function, read before it runs: editing the file cannot disturb a run.
main() {

need_root
need_tools qemu-system-arm:qemu-system-arm mcopy:mtools python3:python3-minimal curl:curl ssh:openssh-client
img=${1:-$(ls -t "$repo"/armhf-image/out/*-armhf.img 2>/dev/null | head -n 1 || true)}
[[ -n $img && -f $img ]] || die "no image: build one with armhf-image/build-image.sh or pass its path"
# An arm64 image (ARCH=arm64 build-image.sh) boots the same way on the 64-bit virt board.
qemu=(qemu-system-arm -M virt -cpu cortex-a15)
[[ $img == *-arm64.img ]] && qemu=(qemu-system-aarch64 -M virt -cpu cortex-a72)
TIMEOUT=${TIMEOUT:-2400}

work=$(mktemp -d /var/tmp/leafgate-boottest.XXXXXX)
QEMU_PID=
cleanup() {
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill -TERM "$QEMU_PID" 2>/dev/null || true
    sleep 2
    kill -KILL "$QEMU_PID" 2>/dev/null || true
  fi
  [[ ${KEEP:-0} == 1 ]] && { log "kept $work"; return; }
  rm -rf "$work"
}
trap cleanup EXIT

log "copying $img"
cp --sparse=always "$img" "$work/disk.img"
boot="$work/disk.img@@4M"
mcopy -i "$boot" ::cmdline.txt "$work/" >/dev/null
kernel=$(mdir -b -i "$boot" :: | sed -n 's|^::/||p' | grep '^vmlinuz-' | sort -V | tail -n 1)
initrd=$(mdir -b -i "$boot" :: | sed -n 's|^::/||p' | grep '^initrd.img-' | sort -V | tail -n 1)
[[ -n $kernel && -n $initrd ]] || die "no kernel or initrd on the boot partition"
mcopy -i "$boot" "::$kernel" "::$initrd" "$work/"
pass "kernel $kernel, initrd $initrd; the image's cmdline.txt: $(cat "$work/cmdline.txt")"

# First-boot settings, as a fleet operator writes them onto each card, with a key for this test.
ssh-keygen -q -t ed25519 -N '' -C leafgate-boot-test -f "$work/id"
cat >"$work/leafgate.txt" <<EOF
hostname=boottest-01
server_name=boottest-01
export=telemetry.>
monitor_listen=0.0.0.0:8222
ssh_authorized_key=$(cat "$work/id.pub")
EOF
mcopy -o -i "$boot" "$work/leafgate.txt" ::leafgate.txt

# Emulation runs the JVM many times slower than a Pi: give the service's start (which includes
# building the class-data-sharing archive on the second start) more time, in a drop-in written
# into the copy's root file system with debugfs (no mount, no loop device).
start=$(sfdisk -d "$work/disk.img" | sed -n 's/.*disk.img2 : start= *\([0-9]*\), size= *\([0-9]*\).*/\1 \2/p')
read -r p2_start p2_size <<<"$start"
[[ -n $p2_start ]] || die "no root partition in the image"
dd if="$work/disk.img" of="$work/root.img" bs=512 skip="$p2_start" count="$p2_size" conv=sparse status=none
printf '[Service]\n# Written by boot-test.sh: emulation is slower than a Pi.\nTimeoutStartSec=1200\n' >"$work/emulation.conf"
debugfs -w -R "mkdir /etc/systemd/system/leafgate.service.d" "$work/root.img" >/dev/null 2>&1
debugfs -w -R "write $work/emulation.conf /etc/systemd/system/leafgate.service.d/emulation.conf" "$work/root.img" >/dev/null 2>&1
debugfs -R "cat /etc/systemd/system/leafgate.service.d/emulation.conf" "$work/root.img" 2>/dev/null | grep -q TimeoutStartSec=1200 \
  || die "could not write the emulation drop-in"
dd if="$work/root.img" of="$work/disk.img" bs=512 seek="$p2_start" conv=notrunc,sparse status=none
rm -f "$work/root.img"
pass "first-boot settings and an emulation drop-in (TimeoutStartSec=1200) written to the copy"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nport=$(free_port); hport=$(free_port); mport=$(free_port); sport=$(free_port)
guest() { # a command in the guest, as root over SSH
  ssh -q -i "$work/id" -p "$sport" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=60 -o BatchMode=yes root@127.0.0.1 "$@"
}
console=$work/console.log
log "booting under ${qemu[*]} (2 CPUs, 1 GB): NATS on 127.0.0.1:$nport, monitoring on 127.0.0.1:$hport, MQTT on 127.0.0.1:$mport"
"${qemu[@]}" -smp 2 -m 1024 \
  -kernel "$work/$kernel" -initrd "$work/$initrd" \
  -append "console=ttyAMA0,115200 root=LABEL=LEAFROOT rw rootwait fsck.repair=yes net.ifnames=0 systemd.show_status=1" \
  -drive if=none,id=disk,file="$work/disk.img",format=raw \
  -device virtio-blk-device,drive=disk \
  -netdev "user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:$nport-:4222,hostfwd=tcp:127.0.0.1:$hport-:8222,hostfwd=tcp:127.0.0.1:$mport-:1883,hostfwd=tcp:127.0.0.1:$sport-:22" \
  -device virtio-net-device,netdev=net -device virtio-rng-device \
  -display none -serial "file:$console" -monitor "unix:$work/monitor.sock,server,nowait" \
  -no-reboot &
QEMU_PID=$!

deadline=$(($(date +%s) + TIMEOUT))
until grep -q 'login:' "$console" 2>/dev/null; do
  kill -0 "$QEMU_PID" 2>/dev/null || { tail -40 "$console"; die "qemu exited during boot"; }
  (($(date +%s) < deadline)) || { tail -40 "$console"; die "no login prompt within $TIMEOUT s"; }
  sleep 5
done
pass "booted to a login prompt after $(($(date +%s) - t_start)) s"
grep -q 'leafgate-firstboot: wrote /etc/leafgate/site.conf' "$console" \
  || { grep 'leafgate-firstboot' "$console" >&2 || true; die "first boot did not write site.conf"; }
pass "first boot: $(grep -o 'leafgate-firstboot: wrote.*' "$console" | head -n 1 | tr -d '\r')"

t_gw=$(date +%s)
until curl -s -m 20 "http://127.0.0.1:$hport/healthz" 2>/dev/null | grep -q '"ok"'; do
  kill -0 "$QEMU_PID" 2>/dev/null || die "qemu exited"
  (($(date +%s) < deadline)) || { tail -40 "$console"; die "/healthz did not answer within $TIMEOUT s"; }
  sleep 10
done
pass "/healthz answers through the forwarded port $(($(date +%s) - t_gw)) s after the login prompt"
info=$(exec 3<>"/dev/tcp/127.0.0.1/$nport" && IFS= read -r -t 30 line <&3 && echo "$line")
[[ $info == *'"server_name":"boottest-01"'* ]] || die "INFO does not show the first-boot server name: $info"
pass "the gateway runs the first-boot settings (server_name boottest-01)"
nats_roundtrip "$nport" lgtest.boot "hello-through-qemu" 60 || die "NATS publish not delivered"
pass "NATS publish from the host reached a subscriber in the guest"
jetstream_check "$nport" 60 || die "JetStream publish not acknowledged"
pass "JetStream publish committed to SQLite on the image's ext4 root"
# Inside the guest, over SSH (the key came with leafgate.txt).
[[ $(guest hostname) == boottest-01 ]] || die "host name not applied"
pass "SSH with the first-boot key; host name $(guest hostname)"
state=$(guest systemctl show leafgate -p Type -p ActiveState -p SubState --no-pager | tr '\n' ' ')
[[ $state == *Type=notify*ActiveState=active*SubState=running* ]] || die "leafgate.service: $state"
pass "systemd: $state (Type=notify: READY=1 arrived)"
ports=$(guest 'cat /var/lib/leafgate/leafgate_*.ports')
if [[ $ports == *'"mqtt"'* ]]; then
  need_tools mosquitto_pub:mosquitto-clients
  mosquitto_pub -h 127.0.0.1 -p "$mport" -q 1 -t lgtest/boot -m hi || die "MQTT publish failed"
  pass "MQTT publish (QoS 1) through the forwarded port accepted"
else
  log "MQTT not checked: the gateway in this image opens no MQTT listener (built before the mqtt-adapter module)"
fi
guest systemctl status leafgate --no-pager --lines=0 | sed 's/^/    /' >&2 || true
[[ $(guest curl -s http://127.0.0.1:8222/healthz) == *'"ok"'* ]] || die "curl /healthz in the guest"
pass "in the guest: curl http://127.0.0.1:8222/healthz answers ok"

log "waiting two watchdog periods (120 s) to see that the watchdog is fed"
sleep 125
! grep -qi 'leafgate.service: Watchdog timeout' "$console" || die "systemd killed leafgate on a watchdog timeout"
state=$(guest systemctl show leafgate -p ActiveState -p SubState -p NRestarts -p StatusText --no-pager | tr '\n' ' ')
[[ $state == *ActiveState=active*SubState=running*NRestarts=0* || $state == *NRestarts=0*ActiveState=active* ]] \
  || die "leafgate.service: $state"
pass "no watchdog timeout, no restart: $state"

guest "sed -i 's/^max_connections: 1024/max_connections: 1000/' /etc/leafgate/leafgate.conf && systemctl reload leafgate"
sleep 20
guest journalctl -u leafgate --no-pager | grep -q 'max_connections changed: restart needed' || die "systemctl reload: no 'restart needed' line in the journal"
pass "systemctl reload leafgate: the journal names 'max_connections changed: restart needed'"

log "restarting the service: the second start builds the class-data-sharing archive (slow under emulation)"
t_r=$(date +%s)
guest "sed -i 's/^max_connections: 1000/max_connections: 1024/' /etc/leafgate/leafgate.conf && systemctl restart leafgate" \
  || { guest journalctl -u leafgate --no-pager | tail -30 >&2; die "systemctl restart leafgate failed"; }
pass "restarted in $(($(date +%s) - t_r)) s (systemctl returns after READY=1)"
guest journalctl -u leafgate --no-pager -o cat | grep -E 'archive|ready in|Deactivated|exited' | sed 's/^/    /' >&2 || true
guest journalctl -u leafgate --no-pager -o cat | grep -q 'archive built' || die "no class-data-sharing archive built on the second start"
! guest journalctl -u leafgate --no-pager -o cat | grep -qiE '\[cds\]|shared archive' || die "the JVM complained about the archive under the sandbox"
guest journalctl -u leafgate --no-pager | grep -q 'leafgate.service: Deactivated successfully' || die "the stop was not clean"
pass "clean stop (exit 0) and a start with the archive, under the unit's sandbox"
curl -s -m 20 "http://127.0.0.1:$hport/healthz" | grep -q '"ok"' || die "/healthz after restart"

log "powering off (systemctl poweroff in the guest)"
guest systemctl poweroff || true
if wait_pid "$QEMU_PID" 600; then
  QEMU_PID=
  # systemd colours the unit name on the console: the escape codes sit between the words.
  grep -aq 'Stopped.*leafgate\.service' "$console" || die "the console shows no 'Stopped leafgate.service' line"
  pass "power-off stopped leafgate.service and the guest"
  ! grep -aq 'leafgate.service: Main process exited, code=exited, status=[1-9]' "$console" || die "leafgate exited with an error"
else
  die "the guest did not power off within 600 s"
fi
pass "boot test passed in $(($(date +%s) - t_start)) s"
}
main "$@"
