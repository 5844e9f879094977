#!/bin/sh
# {{name}}: a Switchboard event connector in POSIX sh.
#
# `switchboard agent --kind {{name}} -- sh {{name}}/main.sh` runs it beside an agent, which registers
# it with the dispatcher, forwards the events triggers ask for and brings tasks back. It talks to the
# agent in JSON lines: events and results on stdout, tasks on stdin. Logs go to stderr, never stdout.
#
# It emits `tick` every TICK_SECONDS (default 2) and runs the task `greet`. Replace both with what
# your source emits (a log file, a command's output) and what it can do. sh reads JSON only in
# simple cases (string values without quotes or backslashes); for more, parse lines with jq.
set -u
TICK_SECONDS=${TICK_SECONDS:-2}

send() { printf '%s\n' "$1"; } # one protocol line: a single write, so lines from two processes never mix
log() { printf '%s\n' "$*" >&2; }

# A task line, as the agent writes it: {"type":"task","id":"...","key":"...","inputs":{...}}
field() { printf '%s\n' "$1" | sed -n "s/^{\"type\":\"task\",\"id\":\"\([^\"\\\\]*\)\",\"key\":\"\([^\"\\\\]*\)\".*/\\$2/p"; }
input() { printf '%s\n' "$1" | sed -n "s/.*\"inputs\":{.*\"$2\":\"\([^\"\\\\]*\)\".*/\1/p"; }

# Text as a JSON string's contents: quotes and backslashes escaped, one line.
json_text() { printf '%s' "$1" | sed 's/["\\]/\\&/g' | tr '\n\t' '  '; }

greet() { # $1: the task line; prints the outputs object, or the error and fails
  name=$(input "$1" name)
  [ -n "$name" ] || { echo 'greet needs a "name" (a non-empty string)'; return 1; }
  printf '{"greeting":"Hello, %s!"}' "$name"
}

# Declares what it emits and runs, so the dispatcher can check what arrives.
send '{"type":"hello","events":["tick"],"tasks":["greet"]}'

(
  n=0
  while sleep "$TICK_SECONDS"; do
    n=$((n + 1))
    send "{\"type\":\"event\",\"key\":\"tick\",\"data\":{\"n\":$n,\"at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}"
  done
) &
ticker=$!
trap 'kill "$ticker" 2>/dev/null; exit 0' TERM INT
trap 'kill "$ticker" 2>/dev/null' EXIT

# Tasks, until the agent closes stdin.
while IFS= read -r line; do
  id=$(field "$line" 1)
  key=$(field "$line" 2)
  if [ -z "$id" ]; then
    log "ignoring a line that is not a task: $(printf '%.80s' "$line")"
    continue
  fi
  case $key in
  greet)
    if outputs=$(greet "$line"); then
      send "{\"type\":\"result\",\"id\":\"$id\",\"outputs\":$outputs}"
    else
      send "{\"type\":\"result\",\"id\":\"$id\",\"error\":\"$(json_text "$outputs")\"}"
    fi
    ;;
  *) send "{\"type\":\"result\",\"id\":\"$id\",\"error\":\"no task $key (there is: greet)\"}" ;;
  esac
done
