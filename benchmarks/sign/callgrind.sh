#!/usr/bin/env bash
# Instructions per session under callgrind for mail the submission role does not
# sign: with [dkim.sign] in_submission off and on, a member's 4 KB message whose From
# no key signs (MilterLoad over the milter wire, 1 connection), and the no-op C
# filter's floors for the same stages (noop-milter-min, noop-milter-sign). The
# daemon's once-a-second counter flush is subtracted (it falls on more or fewer
# sessions from one run to the next).
#
#   sudo benchmarks/sign/callgrind.sh      (SESSIONS=300 by default)
#
# Needs the release builds benchmarks/sign/run.sh and benchmarks/run make
# (.build-bench-root/release/vigie and vigiectl, .build-bench/release/MilterLoad,
# .build-noop/), valgrind, root.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
vigie=$root/.build-bench-root/release/vigie; load=$here/.build-bench/release/MilterLoad
work=$(mktemp -d /tmp/vigie-signcg-XXXXXX); chmod 755 $work
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
flushless() {  # callgrind dump, sessions: instructions per session without the counter flush
    local all flush
    all=$(callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
    flush=$(callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null \
        | awk '/CounterFlusherC5start/ {gsub(",","",$1); if ($1 > max) max = $1} END {print max + 0}')
    echo $(( (all - flush) / $2 ))
}
strip --strip-debug -o $work/vigie $vigie
$root/.build-bench-root/release/vigiectl dkim keygen club.bench.example bench --output $work/k.pem --owner root > /dev/null
python3 - > $work/msg.eml <<'PY'
print("From: Member <member1@other.example>\r\nTo: friend@sink.test\r\nSubject: hello\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x@other.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n" + ("x" * 76 + "\r\n") * 50, end="")
PY
sessions=${SESSIONS:-300}
for mode in false true; do
cat > $work/vigie-$mode.toml <<TOML
[daemon]
socket = "unix:$work/vigie-$mode.sock"
user = "root"
socket_group = "postfix"
state_path = "$work/state-$mode.sqlite"
control_socket = "$work/control-$mode.sock"
admin_group = "root"
[notices]
directory = "$root/conf/notices"
contact = "postmaster@bench.test"
[notify]
enabled = false
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
[dkim.sign]
in_submission = $mode
metrics_listen = ""
[[dkim.sign.key]]
domain = "club.bench.example"
selector = "bench"
file = "$work/k.pem"
algorithm = "rsa-sha256"
TOML
env MALLOC_ARENA_MAX=2 valgrind --tool=callgrind --callgrind-out-file=$work/cg-$mode.%p $work/vigie --config $work/vigie-$mode.toml > $work/log-$mode 2>&1 &
pid=$!
for _ in $(seq 1 120); do [ -S $work/vigie-$mode.sock ] && break; sleep 0.5; done; sleep 1
$load --socket unix:$work/vigie-$mode.sock --concurrency 1 --messages 50 --warmup 5 --duration 120 --message $work/msg.eml --sender member1@other.example > /dev/null
callgrind_control -z $pid > /dev/null
$load --socket unix:$work/vigie-$mode.sock --concurrency 1 --messages $sessions --warmup 0 --duration 600 --message $work/msg.eml --sender member1@other.example > $work/load-$mode.json
callgrind_control -d $pid > /dev/null; sleep 2
dump=$(ls $work/cg-$mode.*.1 | head -1)
echo "vigie, in_submission = $mode: $(flushless "$dump" "$sessions") instructions per session"
kill $pid || true; sleep 1
done
for variant in min sign; do
    valgrind --tool=callgrind --callgrind-out-file=$work/noop-$variant.%p $here/.build-noop/noop-milter-$variant unix:$work/noop-$variant.sock > $work/noop-$variant.log 2>&1 &
    pid=$!
    for _ in $(seq 1 60); do [ -S $work/noop-$variant.sock ] && break; sleep 0.5; done; sleep 1
    $load --socket unix:$work/noop-$variant.sock --concurrency 1 --messages 30 --warmup 5 --duration 60 --message $work/msg.eml --sender member1@other.example > /dev/null
    callgrind_control -z $pid > /dev/null
    $load --socket unix:$work/noop-$variant.sock --concurrency 1 --messages $sessions --warmup 0 --duration 300 --message $work/msg.eml --sender member1@other.example > /dev/null
    callgrind_control -d $pid > /dev/null; sleep 1
    echo "noop$variant (floor): $(flushless "$(ls $work/noop-$variant.*.1 | head -1)" "$sessions") instructions per session"
    kill $pid || true; sleep 1
done
