#!/bin/sh
# SRS lookups per second: Vigie's tcp_table and socketmap services against Debian's
# postsrsd 1.10, same machine, same run, same secret, same client.
#
#   benchmarks/srs/run.sh [VIGIE_BINARY] [CLIENTS] [LOOKUPS_PER_CLIENT]
#
# Needs root only if the ports are privileged (they are not: 2xxxx). Uses a release
# build of vigie by default (swift build -c release --scratch-path .build-srs-release).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
vigie=${1:-$root/.build-srs-release/release/vigie}
clients=${2:-4}
per_client=${3:-20000}
work=$(mktemp -d /tmp/vigie-srs-bench-XXXXXX)
trap 'kill $psrs_pid $vigie_pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM

head -c 18 /dev/urandom | base64 > "$work/secret"; chmod 600 "$work/secret"
cat > "$work/vigie.toml" <<TOML
[daemon]
socket = "unix:$work/milter.sock"
user = "$(id -un)"
socket_group = "$(id -gn)"
state_path = "$work/state.sqlite"
control_socket = "$work/control.sock"
admin_group = "$(id -gn)"
[notices]
directory = "$root/conf/notices"
[logging]
destination = "stderr"
level = "warning"
[metrics]
listen = ""
[srs]
enabled = true
domain = "srs.example"
secrets_file = "$work/secret"
tcp_forward = "127.0.0.1:21001"
tcp_reverse = "127.0.0.1:21002"
socketmap = "inet:127.0.0.1:21003"
TOML

/usr/sbin/postsrsd -s "$work/secret" -d srs.example -l 127.0.0.1 -4 -f 22001 -r 22002 >"$work/postsrsd.log" 2>&1 &
psrs_pid=$!
"$vigie" --config "$work/vigie.toml" >"$work/vigie.log" 2>&1 &
vigie_pid=$!
sleep 2

echo "clients=$clients lookups/client=$per_client (forward lookups, one persistent connection per client)"
printf 'postsrsd 1.10 tcp_table : '; python3 "$here/lookup_load.py" tcp 22001 "$clients" "$per_client"
printf 'vigie tcp_table         : '; python3 "$here/lookup_load.py" tcp 21001 "$clients" "$per_client"
printf 'vigie socketmap         : '; python3 "$here/lookup_load.py" socketmap 21003 "$clients" "$per_client"
