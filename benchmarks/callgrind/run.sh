#!/usr/bin/env bash
# Instructions per message under callgrind: a figure the machine's load does not
# change (valgrind counts instructions, not seconds), for the profile-guided tuning
# of issue #6. Prints one line per target.
#
#   benchmarks/callgrind/run.sh [--sessions N] [--policy]
#
#   policy      SendPolicy check + commit per message, 10k warm accounts (PolicyMemory
#               10000 N minus PolicyMemory 10000 0, divided by N)
#   policy-detection  the same with the shipped [detection] and each message's signals
#               (PolicyMemory ... detection): the suspicion score's observation included
#
# --policy: only the two policy lines (they need PolicyMemory alone).
#   submission  the vigie daemon per milter session (MilterLoad, 1 connection, 1,000
#               accounts, RCPT + end of message as Postfix sends them)
#   noopmin     the C no-op libmilter filter with Vigie's stages, same load: the floor
#   inbound     vigie --role inbound per DKIM-signed 4 KB message (SPF, DKIM, DMARC, headers)
#   noopin      the no-op C filter with the inbound role's stages, same message: its floor
#   unsigned    the vigie daemon per session of a member's 4 KB message whose From no
#               key signs (MilterLoad --message), signing off
#   unsigned-signing  the same with [dkim.sign] in_submission: what signing inside the
#               submission milter costs mail it does not sign (benchmarks/sign)
#   signed      the same role and keys, the message From the key's domain: signed
#               (RSA-2048), what a member's signed message costs the submission milter
#   noopmin-message, noopsign  the no-op C filter's floors for those two: the same
#               message through Vigie's stages, then with headers and body added
#               without replies (noop-milter-sign)
#   limits, redis  the vigie daemon per session with finite limits (every window
#               decided and counted, as benchmarks/run's Redis section), on the
#               SQLite store then on the Redis store (a redis-server on a unix
#               socket): what the shared store costs the daemon's own CPU; the
#               server's time is not in it (skipped without redis-server)
#
#   --only=LABEL,...  measure those targets only
#
# Needs the release builds benchmarks/run makes (it builds nothing itself), valgrind,
# nsd, root. Loopback and unix sockets in a temp dir only; everything stopped on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
sessions=2000
only=""
for arg in "$@"; do
    case "$arg" in
        --sessions=*) sessions=${arg#*=} ;;
        --only=*) only=",${arg#*=}," ;;
        --policy) only=",policy,policy-detection," ;;
        *) echo "usage: $0 [--sessions=N] [--only=LABEL,...] [--policy]" >&2; exit 2 ;;
    esac
done
vigie="$root/.build-bench-root/release/vigie"
load="$here/.build-bench/release/MilterLoad"
policy="$here/.build-bench/release/PolicyMemory"
noopmin="$here/.build-noop/noop-milter-min"
noopsign="$here/.build-noop/noop-milter-sign"
noopin="$here/.build-noop/noop-milter-in"
wants() { [ -z "$only" ] || [[ "$only" == *",$1,"* ]]; }
needed=()
wants policy || wants policy-detection && needed+=("$policy")
[ "$only" = ",policy,policy-detection," ] || needed+=("$vigie" "$load" "$noopmin" "$noopsign" "$noopin")
for binary in "${needed[@]}"; do
    [ -x "$binary" ] || { echo "missing $binary: run benchmarks/run first" >&2; exit 2; }
done
work=$(mktemp -d /tmp/vigie-callgrind-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}'; }
# valgrind 3.19 cannot read the DWARF 5 of Swift release builds: keep the symbols only.
nodebug() { strip --strip-debug -o "$work/$(basename "$1").nodebug" "$1"; echo "$work/$(basename "$1").nodebug"; }

# ---- policy: the difference of two whole runs (PolicyMemory links the root
# package's VigieCore library product, built as the daemon's is)
if wants policy || wants policy-detection; then
    p=$(nodebug "$policy")
    for variant in "" detection; do
        wants "policy${variant:+-$variant}" || continue
        valgrind --tool=callgrind --callgrind-out-file="$work/policy0.out" "$p" 10000 0 $variant > /dev/null 2>&1
        valgrind --tool=callgrind --callgrind-out-file="$work/policy1.out" "$p" 10000 100000 $variant > /dev/null 2>&1
        printf '%-11s %s instructions per message (check + commit)\n' "policy${variant:+-$variant}" \
            "$(( ($(total "$work/policy1.out") - $(total "$work/policy0.out")) / 100000 ))"
    done
fi
[ "$only" != ",policy,policy-detection," ] || exit 0

# ---- a milter under callgrind: counters zeroed after a warm-up, dumped after the load
measure() {  # label socket-spec load-args... -- command...
    local label=$1 socket=$2; shift 2
    if [ -n "$only" ] && [[ "$only" != *",$label,"* ]]; then return 0; fi
    local args=()
    while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
    # The daemon as its systemd unit runs it (env execs valgrind: same pid).
    env MALLOC_ARENA_MAX=2 valgrind --tool=callgrind --callgrind-out-file="$work/$label.%p" "$@" > "$work/$label.log" 2>&1 &
    pids+=($!)
    local path=${socket#unix:}
    for _ in $(seq 1 120); do [ -S "$path" ] && break; sleep 0.5; done
    sleep 1
    "$load" --socket "$socket" --concurrency 1 --messages 100 --warmup 10 --duration 120 "${args[@]}" > /dev/null
    callgrind_control -z "${pids[-1]}" > /dev/null
    "$load" --socket "$socket" --concurrency 1 --messages "$sessions" --warmup 0 --duration 600 "${args[@]}" > "$work/$label.json"
    callgrind_control -d "${pids[-1]}" > /dev/null
    sleep 2
    local dump
    dump=$(ls "$work/$label".*.1 | head -1)
    # The daemon's once-a-second flush to SQLite falls on more or fewer sessions from
    # one run to the next (±4k per session): its share is printed apart, so that a
    # change on the per-message path shows whatever the flush did.
    local all flush
    all=$(total "$dump")
    flush=$(callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null \
        | awk '/CounterFlusherC5start/ {gsub(",","",$1); if ($1 > max) max = $1} END {print max + 0}')
    if [ "$flush" -gt 0 ]; then
        printf '%-11s %s instructions per session (%s of them the counter flush, %s the rest)\n' "$label" \
            "$(( all / sessions ))" "$(( flush / sessions ))" "$(( (all - flush) / sessions ))"
    else
        printf '%-11s %s instructions per session\n' "$label" "$(( all / sessions ))"
    fi
    kill "${pids[-1]}" 2>/dev/null || true
}

# nsd's port for the inbound target, chosen now: the configuration checks every
# nameserver address, so it cannot hold a placeholder filled in later.
nsport=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/vigie.toml" <<TOML
[daemon]
socket = "unix:$work/vigie.sock"
user = "root"
socket_group = "postfix"
state_path = "$work/state.sqlite"
control_socket = "$work/control.sock"
admin_group = "root"
[notices]
directory = "$root/conf/notices"
contact = "postmaster@bench.test"
time_zone = "UTC"
[notify]
enabled = false
admin = "admin@bench.test"
[metrics]
listen = ""
[logging]
destination = "stderr"
[limits]
recipients_per_message = "unlimited"
[limits.messages]
per_minute = "unlimited"
per_hour = "unlimited"
per_day = "unlimited"
[limits.recipients]
per_minute = "unlimited"
per_hour = "unlimited"
per_day = "unlimited"
[exempt]
accounts = ["root"]
recipients = ["postmaster"]
[inbound]
socket = "unix:$work/inbound.sock"
authserv_id = "vigie.bench.test"
nameservers = ["127.0.0.1:$nsport"]
dns_timeout = "5s"
received_spf = true
max_signatures = 5
metrics_listen = ""
TOML
v=$(nodebug "$vigie")
measure submission "unix:$work/vigie.sock" --accounts 1000 -- "$v" --config "$work/vigie.toml"
measure noopmin "unix:$work/noopmin.sock" --accounts 1000 -- "$noopmin" "unix:$work/noopmin.sock"

# ---- the Redis store: the same finite limits on SQLite, then on a redis-server
if [ -z "$only" ] || [[ "$only" == *",limits,"* ]] || [[ "$only" == *",redis,"* ]]; then
    for name in limits redis; do
        sed -e "s|$work/vigie.sock|$work/$name.sock|" -e "s|$work/state.sqlite|$work/$name.sqlite|" \
            -e "s|$work/control.sock|$work/$name-control.sock|" -e "s|$work/inbound.sock|$work/$name-inbound.sock|" \
            -e 's/^per_\(minute\|hour\|day\) = "unlimited"/per_\1 = 1000000000/' "$work/vigie.toml" > "$work/$name.toml"
    done
    measure limits "unix:$work/limits.sock" --accounts 1000 -- "$v" --config "$work/limits.toml"
    if command -v redis-server > /dev/null; then
        mkdir -p "$work/redis"
        printf 'port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\nsave ""\nappendonly no\n' \
            "$work/redis/redis.sock" "$work/redis" > "$work/redis/redis.conf"
        redis-server "$work/redis/redis.conf" > "$work/redis/redis.log" 2>&1 &
        pids+=($!)
        for _ in $(seq 1 50); do [ -S "$work/redis/redis.sock" ] && break; sleep 0.2; done
        printf '[store]\nbackend = "redis"\nredis_url = "unix:%s"\n' "$work/redis/redis.sock" >> "$work/redis.toml"
        measure redis "unix:$work/redis.sock" --accounts 1000 -- "$v" --config "$work/redis.toml"
    else
        echo "redis       skipped: no redis-server" >&2
    fi
fi

# ---- mail the submission role does not sign, with signing off and inside it
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/sign.pem" 2> /dev/null
chmod 600 "$work/sign.pem"
python3 - > "$work/unsigned.eml" <<'PY'
print("From: Member <member1@other.example>\r\nTo: friend@sink.test\r\nSubject: hello\r\n"
      "Date: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@other.example>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain\r\n\r\n" + ("x" * 76 + "\r\n") * 50, end="")
PY
# Each run its own socket and state: a socket file left by the last run would look
# ready before the next daemon listens.
for name in unsigned signing signed; do
    sed -e "s|$work/vigie.sock|$work/$name.sock|" -e "s|$work/state.sqlite|$work/$name.sqlite|" \
        -e "s|$work/control.sock|$work/$name-control.sock|" -e "s|$work/inbound.sock|$work/$name-inbound.sock|" \
        "$work/vigie.toml" > "$work/$name.toml"
done
cat >> "$work/signing.toml" <<TOML
[dkim.sign]
in_submission = true
metrics_listen = ""
[[dkim.sign.key]]
domain = "club.bench.example"
selector = "bench"
file = "$work/sign.pem"
algorithm = "rsa-sha256"
TOML
sed -n '/^\[dkim.sign\]/,$p' "$work/signing.toml" >> "$work/signed.toml"
sed -e 's/member1@other.example/member1@club.bench.example/' -e 's/x@other.example/x@club.bench.example/' \
    "$work/unsigned.eml" > "$work/signed.eml"
message=(--message "$work/unsigned.eml" --sender member1@other.example)
measure unsigned "unix:$work/unsigned.sock" "${message[@]}" -- "$v" --config "$work/unsigned.toml"
measure unsigned-signing "unix:$work/signing.sock" "${message[@]}" -- "$v" --config "$work/signing.toml"
measure signed "unix:$work/signed.sock" --message "$work/signed.eml" --sender member1@club.bench.example \
    -- "$v" --config "$work/signed.toml"
measure noopmin-message "unix:$work/noopmin-message.sock" "${message[@]}" -- "$noopmin" "unix:$work/noopmin-message.sock"
measure noopsign "unix:$work/noopsign.sock" "${message[@]}" -- "$noopsign" "unix:$work/noopsign.sock"

# ---- inbound: nsd serves the benchmark zone, as in benchmarks/run
mkdir -p "$work/nsd"
cat > "$work/nsd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$nsport
    port: $nsport
    username: ""
    chroot: ""
    zonesdir: "$work/nsd"
    zonelistfile: "$work/nsd/zone.list"
    xfrdfile: "$work/nsd/xfrd.state"
    pidfile: "$work/nsd/nsd.pid"
    logfile: "$work/nsd/nsd.log"
    database: ""
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: "vigie-bench.example"
    zonefile: "$here/e2e-fixtures/vigie-bench.example.zone"
CONF
nsd -d -c "$work/nsd/nsd.conf" > "$work/nsd/out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -qs "nsd started" "$work/nsd/nsd.log" "$work/nsd/out" && break; sleep 0.2; done
inbound=(--client-ip 127.0.0.1 --client-name mail.vigie-bench.example --helo mail.vigie-bench.example
         --sender alice@vigie-bench.example --no-auth --message "$here/e2e-fixtures/signed-4k.eml")
measure inbound "unix:$work/inbound.sock" "${inbound[@]}" -- "$v" --config "$work/vigie.toml" --role inbound
[ ! -f "$work/inbound.json" ] || grep -q "dkim=pass" "$work/inbound.json" || echo "warning: the inbound runs did not report dkim=pass" >&2
measure noopin "unix:$work/noopin.sock" "${inbound[@]}" -- "$noopin" "unix:$work/noopin.sock"
