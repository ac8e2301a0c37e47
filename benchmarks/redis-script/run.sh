#!/usr/bin/env bash
# What the counting scripts cost the Redis server per call, alone: the Lua of
# Sources/VigieRedis/RedisSharedCounters+Scripts.swift as the daemon sends it, with
# the policy's eight windows (limits set, as the shipped config has them), run by
# redis-benchmark against a private redis-server on a unix socket; the server's own
# count of microseconds per call (INFO commandstats). A single-threaded server
# spends this in turn for every host, so it bounds the messages per second of all
# hosts together.
#
#   benchmarks/redis-script/run.sh [CALLS]     (default 20000 per run, 3 runs each)
#
# Baselines in the same run, interleaved: `empty` (a script returning at once, given
# the same arguments: what any EVALSHA of this size costs) and `read` (the check's
# GET, which the daemon sends without a script, pipelined with a TIME of under 1 µs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
calls=${1:-20000}
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
    apt-get install -y -q --no-install-recommends redis-server redis-tools >&2; }
work=$(mktemp -d /tmp/vigie-redis-script-XXXXXX)
sock=$work/redis.sock
redis-server --port 0 --unixsocket "$sock" --save "" --appendonly no --dir "$work" > "$work/redis.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do redis-cli -s "$sock" ping >/dev/null 2>&1 && break; sleep 0.1; done

# The scripts' sources, out of the Swift file (the text between the triple quotes).
python3 - "$root/Sources/VigieRedis/RedisSharedCounters+Scripts.swift" "$work" <<'PY'
import re, sys, textwrap
source = open(sys.argv[1]).read()
blocks = [textwrap.dedent(b) for b in re.findall(r'"""\n(.*?)\n\s*"""', source, re.S)]
common, check, commit = blocks[0] + "\n", blocks[1], blocks[2]
open(sys.argv[2] + "/check.lua", "w").write(common + check)
open(sys.argv[2] + "/commit.lua", "w").write(common + commit)
open(sys.argv[2] + "/empty.lua", "w").write("return 1")
PY

# The policy's windows, as RedisSharedCounters+SharedCounting sends them, with
# limits high enough that every message fits (the common case the cost is for):
# ARGV 1-4, then the windows' specification, binary (WindowEncodings.encode). The
# calls are made by a small RESP client (below): redis-benchmark's -x stops at the
# first NUL byte of an argument. Its speed does not matter, commandstats counts the
# server's time only.
python3 - "$work/spec" <<'PY'
import struct, sys
windows = [("messages/minute", 60000, 1), ("messages/hour", 3600000, 1), ("messages/day", 86400000, 1),
           ("recipients/minute", 60000, 0), ("recipients/hour", 3600000, 0), ("recipients/day", 86400000, 0),
           ("burst/messages", 600000, 3), ("burst/recipients", 600000, 2)]
layout = 0x811C9DC5
for name, _, _ in windows:
    for byte in (name + "\n").encode():
        layout = ((layout ^ byte) * 0x01000193) & 0xFFFFFFFF
spec = struct.pack("<I", layout) + b"".join(struct.pack("<ddB", length, 1e8, kind) for _, length, kind in windows)
open(sys.argv[1], "wb").write(spec)
PY

cat > "$work/call.py" <<'PY'
import random, socket, sys
path, calls, spec_path, command = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
spec = open(spec_path, "rb").read()
connection = socket.socket(socket.AF_UNIX)
connection.connect(path)
replies = connection.makefile("rb")
def read():
    line = replies.readline()
    if line[:1] == b"*":
        return [read() for _ in range(int(line[1:]))]
    if line[:1] == b"$":
        size = int(line[1:])
        return None if size < 0 else replies.read(size + 2)[:-2]
    if line[:1] == b"-":
        sys.exit("redis: " + line.decode().strip())
    return line
for _ in range(calls):
    account = b"member%d" % random.randrange(1000)
    parts = [spec if part == "SPEC" else part.encode().replace(b"ACCOUNT", account) for part in command]
    connection.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
    read()
PY
measure() {  # label command...: µs per call of the command named in commandstats
    local label=$1 stat=$2; shift 2
    redis-cli -s "$sock" CONFIG RESETSTAT >/dev/null
    python3 "$work/call.py" "$sock" "$calls" "$work/spec" "$@"
    echo "$label $(redis-cli -s "$sock" INFO commandstats | sed -n "s/^cmdstat_$stat:.*usec_per_call=\([0-9.]*\).*/\1/p")"
}
results=$work/results
for rep in 1 2 3; do
    for script in empty check commit; do
        sha=$(redis-cli -s "$sock" SCRIPT LOAD "$(cat "$work/$script.lua")")
        measure "$script" evalsha EVALSHA "$sha" 1 "bench:shared:ACCOUNT" 1 -1 1 0 SPEC >> "$results"
    done
    measure read get GET "bench:shared:ACCOUNT" >> "$results"
done
python3 - "$results" "$calls" <<'PY'
import statistics, sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, value = line.split()
    runs[label].append(float(value))
med = {k: statistics.median(v) for k, v in runs.items()}
print(f"Redis server µs per call, median of {len(runs['empty'])} runs of {sys.argv[2]} calls (one client, c=1, 1000 accounts):")
for label in ("empty", "read", "check", "commit"):
    print(f"  {label:7s} {med[label]:7.1f}  (runs: {', '.join(f'{v:.1f}' for v in runs[label])})")
print(f"commit / empty = {med['commit'] / med['empty']:.2f}x; check / empty = {med['check'] / med['empty']:.2f}x")
print("Per message the daemon sends the read at RCPT and the commit at end of message:"
      f" {med['read'] + med['commit']:.0f} µs of server time, so one server serves at most"
      f" {1e6 / (med['read'] + med['commit']):.0f} messages/s for all hosts together.")
PY
