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
  # bookworm-security only with SECURITY=1: images for the field should have it, but the mirror
  # this project's build machines reach has served inconsistent security indexes.
  local sources=("deb $MIRROR $SUITE main non-free-firmware" "deb $MIRROR $SUITE-updates main non-free-firmware")
  if [[ ${SECURITY:-0} == 1 ]]; then
    sources+=("deb $SECURITY_MIRROR $SUITE-security main non-free-firmware")
  fi
  mkdir -p "$cache"
  mmdebstrap --mode=root --arch="$arch" --variant="$variant" --include="$include" \
    --components=main,non-free-firmware \
    --skip=essential/unlink \
    --setup-hook="mkdir -p \"\$1\"/var/cache/apt/archives/" \
    --setup-hook="sync-in '$cache' /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives '$cache'" \
    "$@" \
    "$SUITE" "$root" "${sources[@]}" >&2
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
  for m in var/lib/leafgate dev/pts dev sys proc; do
    if mountpoint -q "$root/$m" 2>/dev/null; then
      umount -l "$root/$m" || log "could not unmount $root/$m"
    fi
  done
  return 0
}

# Deletes a work folder, unless something is still mounted below it (a bind mount of /dev!).
safe_rm_work() {
  if awk -v w="$1/" 'index($2, w) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    log "mounts remain under $1: not deleting it"
    return 0
  fi
  rm -rf "$1"
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

# jetstream_check PORT SECONDS [SEQ]: creates (or finds) a file-backed stream and publishes to
# it; the PubAck, with sequence SEQ (default 1), proves a commit to the SQLite store.
jetstream_check() {
  local port=$1 seconds=$2 seq=${3:-1} r
  r=$(nats_request "$port" '$JS.API.STREAM.CREATE.LGTEST' \
    '{"name":"LGTEST","subjects":["lgtest.js.>"],"storage":"file"}' "$seconds") || return 1
  [[ $r == *'"type":"io.nats.jetstream.api.v1.stream_create_response"'* && $r != *'"error"'* ]] \
    || { log "stream create answered: $r"; return 1; }
  r=$(nats_request "$port" 'lgtest.js.one' 'stored' "$seconds") || return 1
  [[ $r == *'"stream":"LGTEST"'*"\"seq\":$seq"[,}]* ]] || { log "publish answered: $r"; return 1; }
}

# gateway_checks ROOT WORK SLOW LABEL: runs the installed gateway in ROOT (chroot, as user
# leafgate, loopback and free ports only) under a stand-in for systemd's notification socket, and
# checks: READY=1, /healthz, a NATS publish reaching a subscriber, a JetStream publish committed
# to SQLite, an MQTT publish when the build has MQTT, WATCHDOG=1 pings, a SIGHUP reload naming a
# changed key, and a SIGTERM stop with exit code 0 and STOPPING=1. SLOW scales every timeout
# (1 native, about 10 under emulation). Extra environment for the gateway: GATEWAY_ENV.
gateway_checks() {
  local root=$1 work=$2 slow=$3 label=$4
  local notify=$work/notify-$label.txt runlog=$work/run-$label.log ports pid lpid nport hport rc t0
  : >"$notify"
  mkdir -p "$root/run/lgtest"
  rm -f "$root/run/lgtest/notify"
  python3 "$repo/armhf-image/lib/notify-listen.py" "$root/run/lgtest/notify" "$notify" $((120 * slow)) &
  lpid=$!
  LISTENER_PID=$lpid
  GATEWAY_LOG=$runlog
  sleep 1
  rm -f "$root"/var/lib/leafgate/leafgate_*.ports
  t0=$(date +%s)
  # shellcheck disable=SC2086
  # --default-signal: a SIGHUP ignored by whoever started this script (nohup) stays ignored in
  # children, and the JVM then leaves it alone.
  env --default-signal=HUP chroot --userspec=leafgate:leafgate "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/var/lib/leafgate LEAFGATE_STATE_DIR=/var/lib/leafgate \
    NOTIFY_SOCKET=/run/lgtest/notify WATCHDOG_USEC=$((3000000 * slow)) ${GATEWAY_ENV:-} \
    /usr/bin/leafgate run -c /etc/leafgate/leafgate.conf -a 127.0.0.1 -p -1 -m -1 --mqtt_port -1 \
    >"$runlog" 2>&1 &
  pid=$!
  GATEWAY_PID=$pid
  ports=$(wait_ports "$root/var/lib/leafgate" $((60 * slow)) "$pid") \
    || { cat "$runlog" >&2; kill "$lpid" 2>/dev/null; die "$label: the gateway did not start"; }
  nport=$(port_of "$ports" nats)
  hport=$(port_of "$ports" monitoring)
  pass "$label: listening after $(($(date +%s) - t0)) s (NATS 127.0.0.1:$nport, monitoring 127.0.0.1:$hport)"
  wait_for "$label: READY=1" $((20 * slow)) grep -q 'READY=1' "$notify"

  local health
  health=$(curl -s -m $((10 * slow)) "http://127.0.0.1:$hport/healthz") || die "$label: /healthz did not answer"
  [[ $health == *'"ok"'* ]] || die "$label: /healthz said $health"
  pass "$label: /healthz answers $(tr -d ' \n' <<<"$health")"

  nats_roundtrip "$nport" lgtest.nats "hello-from-the-host" $((10 * slow)) || die "$label: NATS publish not delivered"
  pass "$label: NATS publish from the host reached a subscriber"
  jetstream_check "$nport" $((10 * slow)) "${EXPECT_SEQ:-1}" || die "$label: JetStream publish not acknowledged"
  pass "$label: JetStream publish committed to the SQLite store (PubAck seq ${EXPECT_SEQ:-1})"

  local mport
  mport=$(port_of "$ports" mqtt)
  if [[ -n $mport ]]; then
    need_tools mosquitto_pub:mosquitto-clients
    local s
    exec {s}<>"/dev/tcp/127.0.0.1/$nport"
    printf 'CONNECT {"verbose":false}\r\nSUB lgtest.mqtt 1\r\nPING\r\n' >&"$s"
    nats_expect "$s" '^PONG' $((10 * slow)) || die "$label: subscribe for MQTT failed"
    mosquitto_pub -h 127.0.0.1 -p "$mport" -q 1 -t lgtest/mqtt -m from-mqtt || die "$label: MQTT publish failed"
    nats_expect "$s" '^MSG lgtest.mqtt 1' $((10 * slow)) || die "$label: MQTT publish not delivered to NATS"
    exec {s}>&-
    pass "$label: MQTT publish (QoS 1) from the host reached a NATS subscriber"
  else
    log "$label: MQTT not checked: this build opens no MQTT listener (built before the mqtt-adapter module)"
  fi

  wait_for "$label: WATCHDOG=1 pings while healthy" $((10 * slow)) grep -q 'WATCHDOG=1' "$notify"

  # A reload with one changed key: refused live, named, and the gateway keeps serving.
  cp "$root/etc/leafgate/leafgate.conf" "$work/leafgate.conf.before"
  echo "max_connections: 512  # changed by the test" >>"$root/etc/leafgate/leafgate.conf"
  kill -HUP "$pid"
  wait_for "$label: SIGHUP names the changed key" $((20 * slow)) grep -q 'max_connections changed: restart needed' "$runlog"
  wait_for "$label: RELOADING=1 then READY=1" $((20 * slow)) grep -q 'RELOADING=1' "$notify"
  cp "$work/leafgate.conf.before" "$root/etc/leafgate/leafgate.conf"
  nats_roundtrip "$nport" lgtest.after-reload "still-serving" $((10 * slow)) || die "$label: not serving after reload"

  kill -TERM "$pid"
  rc=0
  wait_pid "$pid" $((60 * slow)) || rc=$?
  [[ $rc == 0 ]] || { tail -20 "$runlog" >&2; die "$label: SIGTERM stop exited with $rc"; }
  pass "$label: SIGTERM stopped the gateway cleanly (exit code 0)"
  wait_for "$label: STOPPING=1" $((10 * slow)) grep -q 'STOPPING=1' "$notify"
  kill "$lpid" 2>/dev/null || true
  wait "$lpid" 2>/dev/null || true
  rm -f "$root/run/lgtest/notify"
}

# stop_helpers: ends the gateway and the notification listener a failed check left running, and
# shows the end of the gateway's log. For the scripts' EXIT traps.
stop_helpers() {
  local p
  for p in ${GATEWAY_PID:-} ${LISTENER_PID:-}; do
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ ${1:-0} != 0 && -n ${GATEWAY_LOG:-} && -f $GATEWAY_LOG ]]; then
    echo "---- last lines of $GATEWAY_LOG" >&2
    tail -n 25 "$GATEWAY_LOG" >&2
  fi
  return 0
}

# wait_for WHAT SECONDS COMMAND...: polls COMMAND once a second.
wait_for() {
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds; i++)); do
    if "$@"; then
      pass "$what"
      return 0
    fi
    sleep 1
  done
  die "$what: not seen within $seconds s"
}

# wait_pid PID SECONDS: waits for a child to exit and returns its exit code; after SECONDS it is
# killed (SIGKILL) and 124 returned.
wait_pid() {
  local pid=$1 seconds=$2 i
  for ((i = 0; i < seconds; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      return $?
    fi
    sleep 1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return 124
}
