#!/usr/bin/env python3
"""{{name}}: a Switchboard event connector in Python, standard library only.

`switchboard agent --kind {{name}} -- python3 {{name}}/main.py` runs it beside an agent, which
registers it with the dispatcher, forwards the events triggers ask for and brings tasks back. It
talks to the agent in JSON lines: events and results on stdout, tasks on stdin. Logs go to
stderr, never stdout.

It emits `tick` every TICK_SECONDS (default 2) and runs the task `greet`. Replace both with what
your source emits and what it can do.
"""
import json
import os
import sys
import threading
import time

_out = threading.Lock()


def send(message):
    """One protocol line on stdout (one writer at a time: events and results come from two threads)."""
    line = json.dumps(message, separators=(",", ":"))
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def greet(inputs):
    name = inputs.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError('greet needs a "name" (a non-empty string)')
    return {"greeting": "Hello, %s!" % name}


# The task handlers: inputs in, outputs out; an exception is reported as the task's error.
TASKS = {"greet": greet}


def run_task(line):
    try:
        task = json.loads(line)
    except ValueError:
        log("ignoring a line that is not JSON: %.80s" % line)
        return
    if not isinstance(task, dict) or task.get("type") != "task" or not isinstance(task.get("id"), str):
        log("ignoring a line that is not a task: %.80s" % line)
        return
    handler = TASKS.get(task.get("key"))
    if handler is None:
        send({"type": "result", "id": task["id"], "error": "no task %r (there are: %s)" % (task.get("key"), ", ".join(TASKS))})
        return
    inputs = task.get("inputs") if isinstance(task.get("inputs"), dict) else {}
    try:
        send({"type": "result", "id": task["id"], "outputs": handler(inputs)})
    except Exception as err:  # the task's error, reported to the dispatcher
        send({"type": "result", "id": task["id"], "error": str(err) or type(err).__name__})


def tick(seconds):
    n = 0
    while True:
        time.sleep(seconds)
        n += 1
        send({"type": "event", "key": "tick", "data": {"n": n, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}})


def main():
    seconds = float(os.environ.get("TICK_SECONDS", "2"))
    if seconds <= 0:
        raise SystemExit("TICK_SECONDS must be a positive number")
    # Declares what it emits and runs, so the dispatcher can check what arrives.
    send({"type": "hello", "events": ["tick"], "tasks": sorted(TASKS)})
    threading.Thread(target=tick, args=(seconds,), daemon=True).start()
    for line in sys.stdin:  # tasks, until the agent closes stdin
        if line.strip():
            run_task(line)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
