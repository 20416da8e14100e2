#!/usr/bin/env bash
# client_credentials token issuance over HTTP with a fixed request count (ApacheBench,
# Debian apache2-utils), on an empty SQLite database, beside the raw ES256 signing rate
# of ring measured in the same run (criterion). Prints figures; asserts nothing.
#
#   cargo build --release -p tongban && tests/bench/tokens.sh [requests] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/../.."
requests=${1:-20000}
concurrency=${2:-32}
command -v ab >/dev/null || { apt-get update -qq && apt-get install -y -qq apache2-utils >/dev/null; }
bin=target/release/tongban
[ -x "$bin" ] || { echo "build first: cargo build --release -p tongban" >&2; exit 1; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export TONGBAN_DATABASE_URL="sqlite://$work/t.db" TONGBAN_LISTEN="127.0.0.1:$port" TONGBAN_LOG_LEVEL=warn
created=$("$bin" admin client-create --name bench --grant client_credentials --scope api 2>/dev/null)
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$created")
secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$created")
"$bin" serve >"$work/log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
printf 'grant_type=client_credentials&scope=api' >"$work/body"
# One request first: the answer must really be a token.
curl -fsS -u "$id:$secret" --data-binary @"$work/body" -H 'content-type: application/x-www-form-urlencoded' \
  "http://127.0.0.1:$port/token" | grep -q access_token
timeout 120 ab -q -s 10 -n "$requests" -c "$concurrency" -A "$id:$secret" -T application/x-www-form-urlencoded \
  -p "$work/body" "http://127.0.0.1:$port/token" >"$work/ab.txt"
failed=$(awk '/^Failed requests/ {print $3}' "$work/ab.txt")
non2xx=$(awk '/^Non-2xx responses/ {print $3}' "$work/ab.txt")
rps=$(awk '/^Requests per second/ {print $4}' "$work/ab.txt")
p50=$(awk '/^  50%/ {print $2}' "$work/ab.txt")
p99=$(awk '/^  99%/ {print $2}' "$work/ab.txt")
echo "client_credentials tokens: $requests requests, concurrency $concurrency, $(nproc) cores shared with ab"
echo "  ${rps} tokens/s; latency p50 ${p50} ms, p99 ${p99} ms; failed ${failed:-0}, non-2xx ${non2xx:-0}"
kill $server; wait $server 2>/dev/null || true
echo "raw ring ES256 signing on the same machine (criterion):"
cargo bench -q -p tongban-crypto --bench signing -- 'es256/sign/ring' 2>/dev/null | grep -E 'thrpt' | sed 's/^/  /'
