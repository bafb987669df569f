# Shared by the armhf-image scripts: logging, tools, the Debian root builder, chroot mounts and a
# tiny NATS client over bash's /dev/tcp. Sourced, not run.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm
CACHE=${LEAFGATE_CACHE:-/var/cache/leafgate-image}
t_start=$(date +%s)

log() { echo "[$(($(date +%s) - t_start))s] $*" >&2; }
die() { log "FAIL: $*"; exit 1; }
pass() { log "ok: $*"; }

need_root() { [[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap, chroot and mounts need it)"; }

# Installs the Debian packages that provide the given commands, when missing.
need_tools() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}
    pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Makes sure foreign binaries run through qemu-user (binfmt_misc mounted and qemu registered).
need_binfmt() {
  local qemu=$1
  need_tools qemu-arm-static:qemu-user-static update-binfmts:binfmt-support
  if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/$qemu ]]; then
    update-binfmts --enable "$qemu" >/dev/null 2>&1 || true
  fi
  [[ -e /proc/sys/fs/binfmt_misc/$qemu ]] || die "binfmt_misc has no $qemu entry (qemu-user-static)"
}

# Builds the Debian package unless DEB names one; prints its path.
build_deb() {
  if [[ -n ${DEB:-} ]]; then
    [[ -f $DEB ]] || die "DEB=$DEB does not exist"
    readlink -f "$DEB"
    return
  fi
  log "building the Debian package (mvn -Pdeb package)"
  (cd "$repo" && mvn -q -B -Pdeb -pl gateway -am package -DskipTests) >&2 || die "mvn -Pdeb package failed"
  ls -t "$repo"/gateway/target/leafgate_*_all.deb | head -n 1
}

# mmdebstrap ROOT ARCH VARIANT INCLUDES [extra mmdebstrap options...]: a bookworm root from the
# Debian mirror, with downloaded packages kept in $CACHE/ARCH for the next run.
debian_root() {
  local root=$1 arch=$2 variant=$3 include=$4
  shift 4
  local cache=$CACHE/$arch
  mkdir -p "$cache"
  mmdebstrap --mode=root --arch="$arch" --variant="$variant" --include="$include" \
    --components=main,non-free-firmware \
    --skip=essential/unlink \
    --setup-hook="mkdir -p \"\$1\"/var/cache/apt/archives/" \
    --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
    "$@" \
    "$SUITE" "$root" \
    "deb $MIRROR $SUITE main non-free-firmware" \
    "deb $MIRROR $SUITE-updates main non-free-firmware" \
    "deb $SECURITY_MIRROR $SUITE-security main non-free-firmware" >&2
}

# Mounts /proc, /sys and /dev into a root for chroot; chroot_umount undoes it.
chroot_mount() {
  local root=$1
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
}

chroot_umount() {
  local root=$1 m
  for m in dev/pts dev sys proc var/lib/leafgate; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  return 0
}

# A copy of DEB with another version, to test upgrades: repack_deb DEB VERSION OUT.
repack_deb() {
  local deb=$1 version=$2 out=$3 dir
  dir=$(mktemp -d)
  dpkg-deb -R "$deb" "$dir/pkg"
  sed -i "s/^Version: .*/Version: $version/" "$dir/pkg/DEBIAN/control"
  dpkg-deb --root-owner-group -Zxz -b "$dir/pkg" "$out" >/dev/null
  rm -rf "$dir"
}

# Waits up to SECONDS for a leafgate ports file in DIR and prints it; fails if PID dies first.
wait_ports() {
  local dir=$1 seconds=$2 pid=$3 f i
  for ((i = 0; i < seconds; i++)); do
    f=$(ls "$dir"/leafgate_*.ports 2>/dev/null | head -n 1 || true)
    if [[ -n $f ]]; then
      cat "$f"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}

# port_of JSON NAME: the port of the first URL listed under NAME in a ports file.
port_of() {
  sed -n "s/.*\"$2\":\[\"[a-z]*:\/\/[^\"]*:\([0-9]*\)\".*/\1/p" <<<"$1"
}

# Reads lines from fd $1 until one matches the pattern $2 (answering PINGs); fails after $3 s.
nats_expect() {
  local fd=$1 pattern=$2 seconds=$3 line deadline=$(($(date +%s) + $3))
  while (($(date +%s) < deadline)); do
    IFS= read -r -t "$seconds" -u "$fd" line || return 1
    line=${line%$'\r'}
    [[ $line == PING ]] && printf 'PONG\r\n' >&"$fd"
    [[ $line == -ERR* ]] && { log "server said: $line"; return 1; }
    if [[ $line =~ $pattern ]]; then
      REPLY=$line
      return 0
    fi
  done
  return 1
}

# nats_roundtrip PORT SUBJECT PAYLOAD SECONDS: one connection subscribes, another publishes,
# and the subscriber must receive exactly the payload.
nats_roundtrip() {
  local port=$1 subject=$2 payload=$3 seconds=$4 sub pub body
  exec {sub}<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB %s 1\r\nPING\r\n' "$subject" >&"$sub"
  nats_expect "$sub" '^PONG' "$seconds" || { exec {sub}>&-; return 1; }
  exec {pub}<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'CONNECT {"verbose":false,"pedantic":false}\r\nPUB %s %d\r\n%s\r\nPING\r\n' \
    "$subject" "${#payload}" "$payload" >&"$pub"
  nats_expect "$pub" '^PONG' "$seconds" || { exec {sub}>&- {pub}>&-; return 1; }
  nats_expect "$sub" "^MSG $subject 1" "$seconds" || { exec {sub}>&- {pub}>&-; return 1; }
  IFS= read -r -t "$seconds" -u "$sub" body
  exec {sub}>&- {pub}>&-
  [[ ${body%$'\r'} == "$payload" ]]
}

# nats_request PORT SUBJECT PAYLOAD SECONDS: a request with a reply inbox; prints the reply.
nats_request() {
  local port=$1 subject=$2 payload=$3 seconds=$4 c body
  exec {c}<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'CONNECT {"verbose":false,"pedantic":false}\r\nSUB _INBOX.lgtest 1\r\nPUB %s _INBOX.lgtest %d\r\n%s\r\nPING\r\n' \
    "$subject" "${#payload}" "$payload" >&"$c"
  nats_expect "$c" '^MSG _INBOX.lgtest 1' "$seconds" || { exec {c}>&-; return 1; }
  IFS= read -r -t "$seconds" -u "$c" body
  exec {c}>&-
  printf '%s\n' "${body%$'\r'}"
}

# jetstream_check PORT SECONDS: creates a file-backed stream and publishes to it; the PubAck
# proves a commit to the SQLite store.
jetstream_check() {
  local port=$1 seconds=$2 r
  r=$(nats_request "$port" '$JS.API.STREAM.CREATE.LGTEST' \
    '{"name":"LGTEST","subjects":["lgtest.js.>"],"storage":"file"}' "$seconds") || return 1
  [[ $r == *'"type":"io.nats.jetstream.api.v1.stream_create_response"'* && $r != *'"error"'* ]] \
    || { log "stream create answered: $r"; return 1; }
  r=$(nats_request "$port" 'lgtest.js.one' 'stored' "$seconds") || return 1
  [[ $r == *'"stream":"LGTEST"'*'"seq":1'* ]] || { log "publish answered: $r"; return 1; }
}
