#!/usr/bin/env bash
# DKIM-signed messages per second through Postfix: Vigie's sign role against
# opendkim in sign mode (Mode s), same RSA-2048 key, same run, interleaved; and what
# the sign role costs mail it does not sign. See README.md ("Signing").
#
#   sudo benchmarks/sign/run.sh [--reps=3] [--quick]
#
# One private Postfix (temp dir, loopback, nothing chrooted), one smtpd service per
# row, identical but for smtpd_milters; smtp-source → Postfix → smtp-sink (-D: every
# delivered message is kept and its signatures counted), 4 KB messages, one per SMTP
# session, concurrency 1, 8 and 32. Every message is a member's (milter_macro_defaults
# gives {auth_authen}, as in benchmarks/run's submission table).
# Rows:
#   none         no milter (context)
#   vigie-sign   Vigie's sign role, one RSA-2048 key, From member1@club.bench.example: signed
#   opendkim     opendkim 2.11 Mode s, the same key, the same From: signed
#   sub          Vigie's submission role alone, From member1@other.example (not signed)
#   sub+sign     the submission role then the sign role, the same unsigned mail: what the
#                sign role costs mail no key signs (it accepts at end of headers)
#   insign       the submission role signing by itself ([dkim.sign] in_submission), the
#                club's From: signed, no second milter
#   insign-unsigned  the same role, From member1@other.example: what signing inside the
#                submission milter costs mail it does not sign (against `sub`)
#   noopmin      the no-op C filter with the submission role's stages (RCPT, end of message)
#   noopsign     the same plus headers, end of headers and body without replies: what
#                signing inside the submission milter would add to unsigned mail, as a floor
#   noopmin+noopmin  that filter listed twice: what any second milter process costs each
#                session (a second connection, negotiation, its round trips), as a floor
# ROWS="sub sub+sign ..." runs only those rows (the check still runs every one).
# Writes benchmarks/sign/RESULTS.md. Everything started is stopped on exit (KEEP=1
# keeps the temp dir).
set -euo pipefail

REPS=3 QUICK=0
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)  # said in RESULTS.md: how quiet the run started
for arg in "$@"; do
    case "$arg" in
        --reps=*) REPS=${arg#*=} ;;
        --quick) QUICK=1 ;;
        *) echo "usage: $0 [--reps=N] [--quick]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run as root (private Postfix, Vigie's [daemon] user = root)" >&2; exit 2; }

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
"$ROOT/scripts/install-deps" --test   # Postfix, opendkim, python3-dkim for the check

work=$(mktemp -d /tmp/vigie-signbench-XXXXXX); chmod 755 "$work"
pids=()
cleanup() {
    [ -f "$work/pf/spool/pid/master.pid" ] && postfix -c "$work/pf/etc" stop >/dev/null 2>&1 || true
    for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${pids[@]:-}"; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_for() {  # seconds what command...
    local deadline=$((SECONDS + $1)); local what=$2; shift 2
    until "$@" 2>/dev/null; do [ $SECONDS -lt $deadline ] || { echo "$what did not come up" >&2; return 1; }; sleep 0.1; done
}

log "building vigie and vigiectl (release)"
[ -n "${SKIP_SWIFT_BUILD:-}" ] || (cd "$ROOT" && swift build -c release --static-swift-stdlib --scratch-path .build-bench-root --product vigie >&2 \
    && swift build -c release --static-swift-stdlib --scratch-path .build-bench-root --product vigiectl >&2)
vigie=$ROOT/.build-bench-root/release/vigie
vigiectl=$ROOT/.build-bench-root/release/vigiectl

# ---- the key: made by vigiectl, read by both signers (opendkim runs as its user)
mkdir -p "$work/keys"
"$vigiectl" dkim keygen club.bench.example bench --bits 2048 --output "$work/keys/bench.pem" --owner opendkim > "$work/keys/record.txt"
chmod 755 "$work/keys"

# ---- Vigie: one config, two roles
mkdir -p "$work/vigie"; chmod 755 "$work/vigie"
cat > "$work/vigie/vigie.toml" <<TOML
[daemon]
socket = "unix:$work/vigie/submission.sock"
user = "root"
socket_group = "postfix"
state_path = "$work/vigie/state.sqlite"
control_socket = "$work/vigie/control.sock"
admin_group = "root"
[notices]
directory = "$ROOT/conf/notices"
contact = "postmaster@bench.test"
[notify]
enabled = false
[logging]
destination = "stderr"
[metrics]
listen = ""
[limits.messages]
per_minute = 1000000
per_hour = 1000000
per_day = 1000000
[limits.recipients]
per_minute = 1000000
per_hour = 1000000
per_day = 1000000
[dkim.sign]
socket = "unix:$work/vigie/sign.sock"
metrics_listen = ""
[[dkim.sign.key]]
domain = "club.bench.example"
selector = "bench"
file = "$work/keys/bench.pem"
algorithm = "rsa-sha256"
TOML
# The same, signing inside the submission role: its own sockets and state.
mkdir -p "$work/vigie-in"; chmod 755 "$work/vigie-in"
sed -e "s|$work/vigie/|$work/vigie-in/|g" -e 's|^\[dkim.sign\]$|[dkim.sign]\nin_submission = true|' \
    "$work/vigie/vigie.toml" > "$work/vigie-in/vigie.toml"
declare -A milter_pid=()
for role in submission sign insign; do
    config=$work/vigie/vigie.toml; args=(--role $role)
    [ $role = insign ] && { config=$work/vigie-in/vigie.toml; args=(--role submission); }
    MALLOC_ARENA_MAX=2 "$vigie" --config "$config" "${args[@]}" > "$work/vigie/$role.log" 2>&1 &
    pids+=($!); milter_pid[$role]=$!
    wait_for 30 "vigie $role" grep -q started "$work/vigie/$role.log"
done

# ---- opendkim, sign mode, the same key and the same header choices as Vigie's defaults
mkdir -p "$work/opendkim"; chown opendkim "$work/opendkim"; chown opendkim "$work/keys/bench.pem"
cat > "$work/opendkim/opendkim.conf" <<CONF
Mode s
Socket local:$work/opendkim/opendkim.sock
UMask 000
UserID opendkim
PidFile $work/opendkim/opendkim.pid
Syslog no
Domain club.bench.example
Selector bench
KeyFile $work/keys/bench.pem
Canonicalization relaxed/relaxed
# The temp dir is under /tmp, which others can write: opendkim's parent-directory
# check would refuse the key (the key file itself is 0600, opendkim's).
RequireSafeKeys no
OversignHeaders From,Subject,To,Cc,Reply-To,Date
# Every message here comes from 127.0.0.1 with a login: opendkim signs what comes
# from InternalHosts (127.0.0.1 by default).
CONF
opendkim -f -x "$work/opendkim/opendkim.conf" > "$work/opendkim/opendkim.log" 2>&1 &
pids+=($!); milter_pid[opendkim]=$!
wait_for 15 opendkim test -S "$work/opendkim/opendkim.sock"

# ---- the no-op C filters (benchmarks/noop-milter/noop.c)
mkdir -p "$HERE/../.build-noop"
for variant in min sign; do
    flag=$([ $variant = min ] && echo -DVIGIE_STAGES || echo -DVIGIE_SIGN_STAGES)
    cc -O2 -Wall $flag -o "$HERE/../.build-noop/noop-milter-$variant" "$HERE/../noop-milter/noop.c" -lmilter -lpthread
    "$HERE/../.build-noop/noop-milter-$variant" "unix:$work/noop-$variant.sock" > "$work/noop-$variant.log" 2>&1 &
    pids+=($!); milter_pid[noop$variant]=$!
    wait_for 10 "noop-milter-$variant" test -S "$work/noop-$variant.sock"
done

# ---- Postfix
pf=$work/pf
mkdir -p "$pf/etc" "$pf/spool" "$pf/data" "$work/sink"; chown postfix "$pf/data"; chown nobody "$work/sink"
labels="none vigie-sign insign opendkim sub sub+sign insign-unsigned noopmin noopsign noopmin+noopmin"
read -r -a ports <<< "$(python3 -c 'import socket; s=[socket.socket() for _ in range(11)]; [x.bind(("127.0.0.1",0)) for x in s]; print(" ".join(str(x.getsockname()[1]) for x in s))')"
sink=${ports[0]}; declare -A port=(); i=1
for name in $labels; do port[$name]=${ports[i]}; i=$((i + 1)); done
dump=$work/sink/dump
smtp-sink -u nobody -D "$dump" 127.0.0.1:$sink 512 > "$work/sink.log" 2>&1 &
pids+=($!)
cp /etc/postfix/master.cf "$pf/etc/master.cf"
cat > "$pf/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $pf/spool
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.test
mydomain = bench.test
myorigin = bench.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$sink
smtp_dns_support_level = disabled
in_flow_delay = 0
default_destination_concurrency_limit = 40
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
milter_default_action = tempfail
milter_macro_defaults = { {auth_authen} = member1 }
CONF
postconf -c "$pf/etc" -F '*/*/chroot = n' >/dev/null
postconf -c "$pf/etc" -MX smtp/inet >/dev/null
postconf -c "$pf/etc" -Me "postlog/unix-dgram = postlog unix-dgram n - n - 1 postlogd" >/dev/null
for name in $labels; do
    postconf -c "$pf/etc" -Me "127.0.0.1:${port[$name]}/inet = 127.0.0.1:${port[$name]} inet n - n - - smtpd" >/dev/null
done
set_milter() { postconf -c "$pf/etc" -P "127.0.0.1:${port[$1]}/inet/smtpd_milters=$2" >/dev/null; }
set_milter vigie-sign "unix:$work/vigie/sign.sock"
set_milter opendkim "unix:$work/opendkim/opendkim.sock"
set_milter sub "unix:$work/vigie/submission.sock"
set_milter insign "unix:$work/vigie-in/submission.sock"
set_milter insign-unsigned "unix:$work/vigie-in/submission.sock"
set_milter sub+sign "unix:$work/vigie/submission.sock,unix:$work/vigie/sign.sock"
set_milter noopmin "unix:$work/noop-min.sock"
set_milter noopsign "unix:$work/noop-sign.sock"
set_milter noopmin+noopmin "unix:$work/noop-min.sock,unix:$work/noop-min.sock"
touch -d '1 minute ago' "$pf/etc"/*
postfix -c "$pf/etc" start >&2
for name in $labels; do wait_for 20 "smtpd $name" bash -c "exec 3<>/dev/tcp/127.0.0.1/${port[$name]}"; done

drain() {
    local deadline=$((SECONDS + 180))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(find "$pf/spool/incoming" "$pf/spool/active" "$pf/spool/deferred" -type f 2>/dev/null | wc -l)" = 0 ] && return 0
        sleep 0.5
    done
    log "queue not drained after 180 s"
}
signed_count() {  # messages in the sink dump, and how many carry a DKIM-Signature; then empties it
    python3 - "$dump" <<'PY'
import json, os, re, sys
text = open(sys.argv[1], errors="replace").read() if os.path.exists(sys.argv[1]) else ""
messages = re.split(r"^X-Client-Addr: ", text, flags=re.M)[1:]
print(json.dumps(dict(delivered=len(messages), signed=sum(1 for m in messages if re.search(r"^DKIM-Signature:", m, re.M | re.I)))))
PY
    [ ! -e "$dump" ] || : > "$dump"
}
sender_of() { case $1 in sub|sub+sign|insign-unsigned|noop*) echo member1@other.example ;; *) echo member1@club.bench.example ;; esac; }
send() {  # label concurrency messages
    timeout 300 smtp-source -s "$2" -m "$3" -l 4096 -M bench.test -f "$(sender_of "$1")" \
        -t friend@sink.test "127.0.0.1:${port[$1]}" 2> "$work/source.err" || true
}

# ---- check: one message per row; the signed ones verify with dkimpy against the record
for name in $labels; do send "$name" 1 1; done
drain; sleep 1
# Debian's python: python3-dkim (scripts/install-deps --test), not one earlier in PATH.
/usr/bin/python3 - "$dump" "$work/keys/record.txt" <<'PY' || { echo "FAIL: signatures do not verify" >&2; tail -n 20 "$work/vigie/sign.log" "$work/opendkim/opendkim.log" >&2; exit 1; }
import re, sys, dkim
text = open(sys.argv[1], errors="replace").read().replace("\r\n", "\n")
record = "".join(re.findall(r'"([^"]*)"', open(sys.argv[2]).read().split("IN TXT", 1)[1])).encode()
messages = re.split(r"^X-Client-Addr: [^\n]*\n", text, flags=re.M)[1:]
signed = [m for m in messages if "DKIM-Signature:" in m]
assert len(signed) == 3, f"expected 3 signed messages (vigie-sign, insign, opendkim), got {len(signed)} of {len(messages)}"
for m in signed:
    # smtp-sink -D writes its own lines before the message; keep from the first header.
    body = m[m.index("DKIM-Signature:") if m.index("DKIM-Signature:") < m.find("Received:") or m.find("Received:") < 0 else m.find("Received:"):]
    ok = dkim.verify(body.replace("\n", "\r\n").encode(), dnsfunc=lambda name, timeout=5: record)
    assert ok, "a signature did not verify:\n" + body[:600]
print("check: both signers' signatures verify with dkimpy")
PY
: > "$dump"

RESULTS=$work/results.jsonl; : > "$RESULTS"
for rep in $(seq 1 "$REPS"); do
    for c in 1 8 32; do
        if [ $QUICK = 1 ]; then n=$([ $c = 1 ] && echo 200 || echo 600); else n=$([ $c = 1 ] && echo 600 || echo 2000); fi
        order=${ROWS:-$labels}; [ $((rep % 2)) = 1 ] || order=$(echo $order | tr ' ' '\n' | tac | tr '\n' ' ')
        for name in $order; do
            drain
            pid=""; case $name in vigie-sign) pid=${milter_pid[sign]} ;; opendkim) pid=${milter_pid[opendkim]} ;; sub) pid=${milter_pid[submission]} ;; insign|insign-unsigned) pid=${milter_pid[insign]} ;; noopmin|noopsign) pid=${milter_pid[$name]} ;; esac
            t0=$([ -n "$pid" ] && cpu_ticks "$pid" || echo "")
            s=$(date +%s%N); send "$name" "$c" "$n"; e=$(date +%s%N)
            t1=$([ -n "$pid" ] && cpu_ticks "$pid" || echo "")
            drain
            python3 -c 'import json,sys,os; name,c,n,rep,s,e,t0,t1,err,got=sys.argv[1:]; secs=(int(e)-int(s))/1e9; cpu=(int(t1)-int(t0))*1e6/os.sysconf("SC_CLK_TCK")/int(n) if t0 else None; d=dict(label=name, concurrency=int(c), messages=int(n), rep=int(rep), seconds=secs, messages_per_second=int(n)/secs, milter_cpu_us_per_message=cpu, errors=int(err)); d.update(json.loads(got)); print(json.dumps(d))' \
                "$name" "$c" "$n" "$rep" "$s" "$e" "$t0" "$t1" "$(grep -c . "$work/source.err" || true)" "$(signed_count)" \
                | tee -a "$RESULTS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("%-11s c=%-2d rep=%d %7.1f msg/s  delivered %d signed %d errors %d" % (r["label"], r["concurrency"], r["rep"], r["messages_per_second"], r["delivered"], r["signed"], r["errors"]))' >&2
        done
    done
done

LOAD_BEFORE=$LOAD_BEFORE python3 - "$RESULTS" "$HERE/RESULTS.md" "$REPS" "$QUICK" <<'PY'
import json, sys, statistics, subprocess, os, datetime
results, out, reps, quick = sys.argv[1:]
rows = [json.loads(l) for l in open(results)]
def sh(cmd):
    try: return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception: return "?"
def med(label, c, key="messages_per_second"):
    values = [r[key] for r in rows if r["label"] == label and r["concurrency"] == c and r.get(key) is not None]
    return statistics.median(values) if values else float("nan")
labels = [l for l in ["none", "vigie-sign", "insign", "opendkim", "sub", "sub+sign", "insign-unsigned", "noopmin", "noopsign", "noopmin+noopmin"]
          if any(r["label"] == l for r in rows)]
lines = ["| row | c | msgs/s (median) | milter CPU µs/msg | delivered / signed (all reps) | errors |", "|---|---:|---:|---:|---:|---:|"]
for c in (1, 8, 32):
    for label in labels:
        rs = [r for r in rows if r["label"] == label and r["concurrency"] == c]
        cpu = med(label, c, "milter_cpu_us_per_message")
        lines.append(f"| {label} | {c} | {med(label, c):.1f} | {'' if cpu != cpu else f'{cpu:.0f}'} | {sum(r['delivered'] for r in rs)} / {sum(r['signed'] for r in rs)} | {sum(r['errors'] for r in rs)} |")
targets = ["", "| target | c=1 | c=8 | c=32 |", "|---|---:|---:|---:|"]
sign = [med("vigie-sign", c) / med("opendkim", c) for c in (1, 8, 32)]
nan = float("nan")
unsigned = [med("sub+sign", c) / med("sub", c) for c in (1, 8, 32)]
targets.append("| vigie-sign / opendkim ≥ 1.30 | " + " | ".join(f"{x:.2f}" for x in sign) + " |")
insign = [med("insign", c) / med("opendkim", c) for c in (1, 8, 32)]
targets.append("| insign / opendkim ≥ 1.30 (signing inside the submission role) | " + " | ".join(f"{x:.2f}" for x in insign) + " |")
inunsigned = [med("insign-unsigned", c) / med("sub", c) for c in (1, 8, 32)]
targets.append("| insign-unsigned / sub ≥ 0.95, unsigned mail (signing inside the submission role) | " + " | ".join(f"{x:.2f}" for x in inunsigned) + " |")
targets.append("| (sub+sign) / sub ≥ 0.95, unsigned mail | " + " | ".join(f"{x:.2f}" for x in unsigned) + " |")
floor = [med("noopsign", c) / med("noopmin", c) for c in (1, 8, 32)]
targets.append("| floor of in-process signing stages: noopsign / noopmin | " + " | ".join(f"{x:.2f}" for x in floor) + " |")
second = [med("noopmin+noopmin", c) / med("noopmin", c) for c in (1, 8, 32)]
targets.append("| floor of a second milter process: (noopmin+noopmin) / noopmin | " + " | ".join(f"{x:.2f}" for x in second) + " |")
load = sh("cat /proc/loadavg")
doc = f"""# DKIM signing through Postfix: Vigie's sign role vs opendkim (Mode s)

## Latest run

`sudo benchmarks/sign/run.sh{' --quick' if quick == '1' else ''} --reps={reps}`; {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC;
Vigie commit `{sh("git -C " + os.path.dirname(os.path.abspath(out)) + " rev-parse --short HEAD")}`; {sh("opendkim -V 2>&1 | head -1")};
Postfix {sh("postconf -d -h mail_version")}; {os.cpu_count()} cores; load average before {os.environ.get("LOAD_BEFORE", "?")}, at the end {load}.
RSA-2048, relaxed/relaxed, From/Subject/To/Cc/Reply-To/Date oversigned by both; 4 KB messages,
one per session, smtp-source → Postfix → smtp-sink; medians of {reps} interleaved repetitions.

""" + "\n".join(lines + targets) + "\n"
# Earlier runs stay below the new one (their headings say "Earlier"), with the
# readings written under them.
if os.path.exists(out):
    earlier = open(out).read().split("\n", 2)[2].replace("## Latest", "## Earlier", 1)
    doc += "\n" + earlier
open(out, "w").write(doc)
print(doc)
PY
