#!/bin/sh
# Runs main.sh as the agent does (JSON lines on stdin/stdout) and checks what it declares, emits
# and answers: `sh {{name}}/test.sh`. Exits 1 with the reason on the first failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; echo "--- the connector wrote:" >&2; cat "$dir/out" >&2; exit 1; }

mkfifo "$dir/in"
TICK_SECONDS=0.1 sh "$here/main.sh" <"$dir/in" >"$dir/out" 2>"$dir/err" &
pid=$!
exec 3>"$dir/in" # stdin stays open until the checks are done
printf '%s\n' \
  '{"type":"task","id":"t1","key":"greet","inputs":{"name":"Ada"}}' \
  '{"type":"task","id":"t2","key":"greet","inputs":{}}' \
  '{"type":"task","id":"t3","key":"fly","inputs":{}}' >&3

# Wait (up to 30 s) for three results and a tick.
i=0
until [ "$(grep -c '"type":"result"' "$dir/out")" -ge 3 ] && grep -q '"type":"event"' "$dir/out"; do
  i=$((i + 1))
  [ "$i" -le 300 ] || fail "no three results and a tick within 30 s"
  sleep 0.1
done

expect() { grep -qxF "$1" "$dir/out" || fail "expected the line $1"; }
[ "$(head -n 1 "$dir/out")" = '{"type":"hello","events":["tick"],"tasks":["greet"]}' ] || fail "the first line is not hello"
expect '{"type":"result","id":"t1","outputs":{"greeting":"Hello, Ada!"}}'
expect '{"type":"result","id":"t2","error":"greet needs a \"name\" (a non-empty string)"}'
expect '{"type":"result","id":"t3","error":"no task fly (there is: greet)"}'
grep -q '^{"type":"event","key":"tick","data":{"n":1,"at":"' "$dir/out" || fail "no first tick"

exec 3>&- # end of stdin: the connector stops
wait "$pid" || fail "main.sh exited with $?"
echo "ok: hello, tick, three task results"
