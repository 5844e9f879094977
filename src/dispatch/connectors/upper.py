#!/usr/bin/env python3
"""Example connector in Python, to show the protocol needs no SDK: one JSON object a line.

Declares an event `line` (one per line read from the file in UPPER_WATCH, if set) and a task
`upper` that upper-cases its `text` input. Logs go to stderr; stdout carries only protocol lines.
"""
import json
import os
import sys
import threading
import time


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def watch(path):
    # Emits each new line appended to the file as a `line` event.
    pos = 0
    while True:
        try:
            with open(path, encoding="utf-8") as f:
                f.seek(pos)
                for line in f:
                    send({"type": "event", "key": "line", "data": {"text": line.rstrip("\n")}})
                pos = f.tell()
        except FileNotFoundError:
            pass
        time.sleep(0.2)


send({"type": "hello", "events": ["line"], "tasks": ["upper"], "meta": {"language": "python"}})
if os.environ.get("UPPER_WATCH"):
    threading.Thread(target=watch, args=(os.environ["UPPER_WATCH"],), daemon=True).start()

for raw in sys.stdin:
    try:
        task = json.loads(raw)
    except ValueError:
        log("ignoring a line that is not JSON")
        continue
    if task.get("type") != "task":
        continue
    if task.get("key") != "upper":
        send({"type": "result", "id": task.get("id"), "error": "unknown task %r" % task.get("key")})
        continue
    text = task.get("inputs", {}).get("text")
    if not isinstance(text, str):
        send({"type": "result", "id": task["id"], "error": "input text must be a string"})
        continue
    send({"type": "result", "id": task["id"], "outputs": {"text": text.upper()}})
