#!/usr/bin/env bash
# Builds a flashable Raspberry Pi image of the leafgate appliance from Debian bookworm packages:
# Debian's kernel and Raspberry Pi firmware (raspi-firmware), OpenJDK 17 and the leafgate package.
# No loop device and no Pi: mmdebstrap installs the foreign packages through qemu-user, and the
# partitions are filled from folders (mkfs.vfat + mcopy, mke2fs -d) and put together with sfdisk
# and dd. Only Debian's mirror is contacted.
#
#   armhf-image/build-image.sh                 # armhf (Pi 2, 3, 4 in 32-bit mode): linux-image-armmp
#   ARCH=arm64 armhf-image/build-image.sh      # arm64 (Pi 3, 4, 5 in 64-bit mode): linux-image-arm64
#
# Environment: SECURITY=1 (add bookworm-security), DEB (a built leafgate .deb; default: build it), OUT (the image file; default
# armhf-image/out/leafgate-<version>-<arch>.img), XZ=1 (also write .img.xz), MIRROR,
# LEAFGATE_CACHE (downloaded packages, default /var/cache/leafgate-image).
# Run time: about 52 minutes on 2 shared cores (3091 s measured), most of it dpkg under emulation:
# the initramfs alone is generated twice (by the kernel's postinst, then by the initramfs-tools
# trigger), some 20 minutes each.
#
# The image: an MBR with a FAT32 boot partition (label LEAFBOOT, mounted on /boot/firmware: the
# firmware, kernel, initrd, device trees, config.txt, cmdline.txt, and leafgate.txt for first-boot
# settings) and an ext4 root (label LEAFROOT) that grows to the card at first boot.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# The whole script is one function, read before it runs: editing the file cannot disturb a run.
main() {

ARCH=${ARCH:-armhf}
case $ARCH in
  armhf) kernel=linux-image-armmp; qemu=qemu-arm; serial=ttyAMA0 ;;
  arm64) kernel=linux-image-arm64; qemu=qemu-aarch64; serial=ttyS1 ;;
  *) die "ARCH must be armhf or arm64" ;;
esac
BOOT_MB=${BOOT_MB:-256}
here=$repo/armhf-image

need_root
need_tools mmdebstrap:mmdebstrap mkfs.vfat:dosfstools mcopy:mtools mke2fs:e2fsprogs sfdisk:fdisk
need_binfmt "$qemu"

deb=$(build_deb)
version=$(dpkg-deb -f "$deb" Version)
OUT=${OUT:-$here/out/leafgate-${version//\~/-}-$ARCH.img}
mkdir -p "$(dirname "$OUT")"

work=$(mktemp -d /var/tmp/leafgate-image.XXXXXX)
cleanup() {
  chroot_umount "$work/root" 2>/dev/null || true
  safe_rm_work "$work"
}
trap cleanup EXIT
# mmdebstrap wants a local package at the same absolute path outside and inside the new root.
mkdir -p "$work/deb" && cp "$deb" "$work/deb/"

packages=(
  systemd-sysv udev kmod "$kernel" raspi-firmware initramfs-tools
  openjdk-17-jre-headless ca-certificates
  systemd-resolved systemd-timesyncd openssh-server
  cloud-guest-utils fdisk dosfstools e2fsprogs
  iproute2 iputils-ping procps curl nano less
  "$work/deb/$(basename "$deb")"
)
include=$(IFS=,; echo "${packages[*]}")

# What the customize hook does inside the new root (run by mmdebstrap with the root as $1).
cat >"$work/customize.sh" <<EOF
#!/bin/sh
set -eu
root=\$1
cp -a "$here/rootfs/." "\$root/"
chmod 0755 "\$root/usr/local/sbin/leafgate-firstboot"

echo leafgate >"\$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tleafgate\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"\$root/etc/hosts"
ln -sf ../run/systemd/resolve/stub-resolv.conf "\$root/etc/resolv.conf"

# The kernel command line and firmware settings, then regenerate /boot/firmware with them.
cat >>"\$root/etc/default/raspi-firmware" <<'CFG'

# leafgate image: boot by file-system label, serial console on the GPIO header.
ROOTPART="LABEL=LEAFROOT"
CONSOLES="tty0 $serial,115200"
CFG
chroot "\$root" env DEB_MAINT_PARAMS=configure /etc/kernel/postinst.d/z50-raspi-firmware
cp "$here/bootfs/leafgate.txt" "\$root/boot/firmware/leafgate.txt"

# Logs: persistent but small (SD card), services on at boot.
mkdir -p "\$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=persistent\nSystemMaxUse=64M\n' >"\$root/etc/systemd/journald.conf.d/leafgate.conf"
chroot "\$root" systemctl enable systemd-networkd systemd-resolved systemd-timesyncd ssh leafgate leafgate-firstboot >/dev/null 2>&1

# Every board must get its own identity at first boot: machine id and SSH host keys.
echo uninitialized >"\$root/etc/machine-id"
rm -f "\$root/var/lib/dbus/machine-id" "\$root"/etc/ssh/ssh_host_*
passwd -R "\$root" -l root >/dev/null
# Nothing in the image that belongs to this build machine.
rm -rf "\$root"/var/lib/leafgate/cds "\$root"/var/log/journal/* "\$root$work"
EOF
chmod +x "$work/customize.sh"

log "installing the $ARCH root file system with mmdebstrap (under qemu-user: slow)"
debian_root "$work/root" "$ARCH" minbase "$include" \
  --setup-hook="mkdir -p \"\$1/boot/firmware\" \"\$1$work/deb\" && cp '$deb' \"\$1$work/deb/\"" \
  --customize-hook="$work/customize.sh \"\$1\"" \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/*'
pass "root file system: $(du -sm "$work/root" | cut -f1) MB"

# The boot partition's content moves out of the root, which keeps an empty mount point.
mkdir "$work/boot"
mv "$work/root/boot/firmware/"* "$work/boot/"
ls "$work/boot/"vmlinuz-* "$work/boot/"initrd.img-* "$work/boot/config.txt" "$work/boot/cmdline.txt" >/dev/null \
  || die "raspi-firmware did not populate /boot/firmware"
log "cmdline.txt: $(cat "$work/boot/cmdline.txt")"

root_mb=$(($(du -sm "$work/root" | cut -f1) * 12 / 10 + 384))
log "file systems: boot $BOOT_MB MB (FAT32), root $root_mb MB (ext4)"
mkfs.vfat -F 32 -n LEAFBOOT -C "$work/boot.img" $((BOOT_MB * 1024)) >/dev/null
mcopy -s -i "$work/boot.img" "$work/boot/"* ::/
mke2fs -q -F -t ext4 -L LEAFROOT -d "$work/root" "$work/root.img" "${root_mb}M"

img=$work/leafgate.img
truncate -s $((4 + BOOT_MB + root_mb))M "$img"
sfdisk -q "$img" <<EOF
label: dos
unit: sectors
start=8192, size=$((BOOT_MB * 2048)), type=c, bootable
start=$((8192 + BOOT_MB * 2048)), size=$((root_mb * 2048)), type=83
EOF
dd if="$work/boot.img" of="$img" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$work/root.img" of="$img" bs=1M seek=$((4 + BOOT_MB)) conv=notrunc,sparse status=none
mv "$img" "$OUT"
if [[ ${XZ:-0} == 1 ]]; then
  xz -T0 -k -f "$OUT"
fi
pass "image: $OUT ($(du -m --apparent-size "$OUT" | cut -f1) MB), built in $(($(date +%s) - t_start)) s"
echo "$OUT"
}
main "$@"
