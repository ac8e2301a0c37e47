#!/usr/bin/env bash
# DKIM-verified messages per second: Vigie's inbound role against opendkim in verify
# mode (Mode v), same signed message, same run, interleaved. See README.md ("DKIM").
#
#   sudo benchmarks/dkim/run.sh [--reps=3] [--messages=3000] [--duration=10]
#
# Both milters resolve the key (sel1._domainkey.example.test) from the same nsd serving
# fixtures/auth/zones/test.zone on a loopback port: Vigie through its own resolver
# (`nameservers`), opendkim through libunbound forwarding to it (ResolverConfiguration).
# Writes benchmarks/dkim/RESULTS.md. Loopback and unix sockets in a temp dir only
# (KEEP=1 keeps it); every run is bounded in count and time; everything started is
# stopped on exit.
set -euo pipefail

REPS=3 MESSAGES=3000 DURATION=10 WARMUP=100
# Concurrency 1 only by default: with ResolverConfiguration (needed so libunbound can
# reach nsd for "test.", one of unbound's default NXDOMAIN local zones) opendkim 2.11
# re-parses the unbound config file from several threads at once at concurrency > 1,
# and unbound's flex parser is not thread-safe: garbled config errors, tempfails, then
# a crash (general protection fault) within a few hundred messages. --concurrency="1 8"
# reproduces it.
CONCURRENCY="1"
for arg in "$@"; do
    case "$arg" in
        --reps=*) REPS=${arg#*=} ;;
        --messages=*) MESSAGES=${arg#*=} ;;
        --duration=*) DURATION=${arg#*=} ;;
        --concurrency=*) CONCURRENCY=${arg#*=} ;;
        *) echo "usage: $0 [--reps=N] [--messages=N] [--duration=SECONDS]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (Vigie's [daemon] user = root)" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FIX=$ROOT/fixtures/auth
MESSAGE=$FIX/messages/rsa-pass.eml   # dkimpy-signed, rsa-sha256, relaxed/relaxed, d=example.test s=sel1
VIGIE=$ROOT/.build-dkimbench/release/vigie
LOAD=$ROOT/benchmarks/.build-bench/release/MilterLoad
NSD=$(command -v nsd || echo /usr/sbin/nsd)
OPENDKIM=$(command -v opendkim || echo /usr/sbin/opendkim)

if [ ! -x "$VIGIE" ]; then (cd "$ROOT" && swift build -c release --product vigie --scratch-path .build-dkimbench); fi
if [ ! -x "$LOAD" ]; then (cd "$ROOT/benchmarks" && swift build -c release --product MilterLoad --scratch-path .build-bench); fi

TMP=$(mktemp -d /tmp/vigie-dkimbench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2; shift 2
    for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done
    echo "timed out waiting for $what" >&2; return 1
}

# ---- nsd: the fixture zone on a loopback port ----
PORT=$(free_port)
cat > "$TMP/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$PORT
    port: $PORT
    username: ""
    chroot: ""
    zonesdir: "$TMP"
    zonelistfile: "$TMP/zone.list"
    xfrdfile: "$TMP/xfrd.state"
    pidfile: "$TMP/nsd.pid"
    logfile: "$TMP/nsd.log"
    database: ""
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "test"
    zonefile: "$FIX/zones/test.zone"
EOF
"$NSD" -d -c "$TMP/nsd.conf" > "$TMP/nsd.out" 2>&1 & PIDS+=($!)
wait_for 15 "nsd" grep -qs "nsd started" "$TMP/nsd.log" "$TMP/nsd.out"

# ---- Vigie, inbound role ----
cat > "$TMP/vigie.toml" <<EOF
[daemon]
user = "root"
socket_group = "root"
state_path = "$TMP/state.sqlite"
control_socket = "$TMP/control.sock"
admin_group = "root"
[notices]
directory = "$ROOT/conf/notices"
contact = "postmaster@vigie.test"
[logging]
destination = "stderr"
[metrics]
listen = ""
[inbound]
socket = "unix:$TMP/vigie-inbound.sock"
authserv_id = "mx.vigie.test"
nameservers = ["127.0.0.1:$PORT"]
dns_timeout = "5s"
metrics_listen = ""
EOF
"$VIGIE" --config "$TMP/vigie.toml" --role inbound > "$TMP/vigie.log" 2>&1 & PIDS+=($!)
wait_for 20 "vigie inbound" test -S "$TMP/vigie-inbound.sock"

# ---- opendkim, verify only; libunbound forwards to the same nsd ----
cat > "$TMP/unbound.conf" <<EOF
server:
    do-not-query-localhost: no
    module-config: "iterator"
    # "test." is one of unbound's default local zones (RFC 6761: answered NXDOMAIN
    # locally); let it go to the forwarder.
    local-zone: "test." nodefault
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$PORT
EOF
cat > "$TMP/opendkim.conf" <<EOF
Mode                    v
Socket                  local:$TMP/opendkim.sock
PidFile                 $TMP/opendkim.pid
AuthservID              mx.vigie.test
ResolverConfiguration   $TMP/unbound.conf
On-BadSignature         accept
On-KeyNotFound          accept
On-DNSError             accept
Syslog                  yes
EOF
"$OPENDKIM" -f -x "$TMP/opendkim.conf" > "$TMP/opendkim.log" 2>&1 & PIDS+=($!)
wait_for 20 "opendkim" test -S "$TMP/opendkim.sock"

# The same unauthenticated internet client for both: 192.0.2.1 is allowed by
# pass.spf.test's SPF record, so Vigie's SPF check at MAIL passes too.
CLIENT=(--client-ip 192.0.2.1 --client-name mail.example.test --helo mail.example.test
        --sender alice@pass.spf.test --no-auth --message "$MESSAGE")
socket_of() { case $1 in vigie) echo "unix:$TMP/vigie-inbound.sock" ;; opendkim) echo "unix:$TMP/opendkim.sock" ;; esac; }

# ---- check: both add Authentication-Results with dkim=pass for this message ----
for m in vigie opendkim; do
    out=$("$LOAD" --socket "$(socket_of $m)" --concurrency 1 --messages 1 --warmup 0 --duration 10 \
          --label "check-$m" "${CLIENT[@]}")
    echo "$out" > "$TMP/check-$m.json"
    ar=$(python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["modifications"]))' <<< "$out")
    echo "check $m: $ar"
    if ! grep -qi "dkim=pass" <<< "$ar"; then
        echo "FAIL: $m did not report dkim=pass; milter log:" >&2
        tail -20 "$TMP/$m.log" >&2
        exit 1
    fi
done
grep -m1 "dkim=pass" "$TMP/vigie.log" | sed 's/^/vigie log: /' || { echo "FAIL: no dkim=pass in Vigie's log" >&2; exit 1; }

# ---- the benchmark: interleaved, alternating which milter goes first ----
RESULTS=$TMP/results.jsonl
: > "$RESULTS"
for rep in $(seq "$REPS"); do
    for c in $CONCURRENCY; do
        order="vigie opendkim"; [ $((rep % 2)) = 0 ] && order="opendkim vigie"
        for m in $order; do
            "$LOAD" --socket "$(socket_of $m)" --concurrency "$c" --messages "$MESSAGES" --warmup "$WARMUP" \
                --duration "$DURATION" --label "$m c=$c rep=$rep" "${CLIENT[@]}" | tee -a "$RESULTS" \
                | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-26s %8.0f msg/s  p50 %.3f ms  p99 %.3f ms  %s" % (r["label"], r["messages_per_second"], r["latency_ms"]["p50"], r["latency_ms"]["p99"], r["outcomes"]))'
        done
    done
done

# ---- table ----
python3 - "$RESULTS" "$HERE/RESULTS.md" "$TMP" "$REPS" "$MESSAGES" "$DURATION" "$CONCURRENCY" <<'EOF'
import json, sys, statistics, subprocess, os, datetime
results, out, tmp, reps, messages, duration, concurrency = sys.argv[1:]
rows = [json.loads(l) for l in open(results)]
def runs(m, c): return [r for r in rows if r["label"].startswith(m + " ") and r["concurrency"] == c]
def med(rs, f): return statistics.median(f(r) for r in rs)
def sh(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception: return "?"
checks = {m: json.load(open(f"{tmp}/check-{m}.json"))["modifications"] for m in ("vigie", "opendkim")}
lines = ["| milter | concurrency | msgs/s (median) | p50 ms | p99 ms | errors | Vigie/opendkim msgs/s |",
         "|---|---|---|---|---|---|---|"]
ratios = {}
for c in map(int, concurrency.split()):
    v, o = runs("vigie", c), runs("opendkim", c)
    ratio = med(v, lambda r: r["messages_per_second"]) / med(o, lambda r: r["messages_per_second"])
    ratios[c] = ratio
    for m, rs in (("vigie", v), ("opendkim", o)):
        lines.append("| %s | %d | %.0f | %.3f | %.3f | %d | %s |" % (
            m, c, med(rs, lambda r: r["messages_per_second"]), med(rs, lambda r: r["latency_ms"]["p50"]),
            med(rs, lambda r: r["latency_ms"]["p99"]), sum(r["outcomes"].get("error", 0) for r in rs),
            "**%.2f×**" % ratio if m == "vigie" else ""))
per_run = ["| %s | %.0f | %.3f | %.3f | %d | %s |" % (r["label"], r["messages_per_second"], r["latency_ms"]["p50"],
           r["latency_ms"]["p99"], r["messages"], r["outcomes"]) for r in rows]
table = "\n".join(lines)
print("\n" + table)
for c, x in ratios.items(): print(f"ratio Vigie/opendkim at concurrency {c}: {x:.2f}")
doc = f"""# DKIM verification: Vigie (inbound role) vs opendkim (Mode v)

Generated by `benchmarks/dkim/run.sh` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC
({reps} repetitions, at most {messages} messages or {duration} s per run, interleaved; medians).
Machine: {os.cpu_count()} cores, load average `{sh("cut -d' ' -f1-3 /proc/loadavg")}`;
Vigie commit `{sh("git -C " + os.path.dirname(os.path.abspath(out)) + " rev-parse --short HEAD")}`; {sh("opendkim -V 2>&1 | head -1")}.

Same message for both: `fixtures/auth/messages/rsa-pass.eml` (dkimpy, rsa-sha256 2048-bit,
relaxed/relaxed, d=example.test s=sel1), sent by MilterLoad as Postfix's milter8 would,
one milter connection per session (connect, HELO, MAIL, RCPT, DATA, headers, body, EOM),
unauthenticated client 192.0.2.1, envelope sender alice@pass.spf.test. Both milters get
the public key from the same nsd on loopback (Vigie: its resolver and cache; opendkim:
libunbound forwarding to it, with unbound's cache), so after the first message the key
comes from each one's cache.

Vigie does more per message than opendkim here: it also runs SPF at MAIL
(pass.spf.test → pass; its DNS cache makes the repeats cheap) and writes spf= and dkim=
into its Authentication-Results; opendkim only verifies DKIM.

{table}

Ratio Vigie/opendkim (median msgs/s): {"; ".join(f"concurrency {c}: **{x:.2f}**" for c, x in ratios.items())}.

Checked before measuring (one session each, end-of-message modifications):
- Vigie: `{"; ".join(checks["vigie"])}`
- opendkim: `{"; ".join(checks["opendkim"])}`

Every run:

| run | msgs/s | p50 ms | p99 ms | messages | outcomes |
|---|---|---|---|---|---|
""" + "\n".join(per_run) + "\n"
open(out, "w").write(doc)
print("wrote " + out)
EOF
