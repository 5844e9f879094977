#!/usr/bin/env python3
"""{{name}}: a Switchboard sync connector in Python, standard library only. It is an Airbyte
source: Switchboard runs `python3 main.py spec | check | discover | read` (the manifest says
`"protocol": "airbyte"`) and reads one JSON message a line from stdout.

It reads the people in a JSON file (`sample.json` in this folder by default) as the stream
`people`, incrementally: each run sends the records updated since the last run's STATE. To sync a
real source, replace `read_people` with calls to its API, page by page.
"""
import argparse
import json
import os
import sys
import time

STREAM = "people"
HERE = os.path.dirname(os.path.abspath(__file__))

# The account's options (`switchboard account add --options '{...}'`), as JSON Schema: Switchboard
# checks the options against it before anything runs.
SPEC = {
    "connectionSpecification": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "{{name}}",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "file": {
                "type": "string",
                "minLength": 1,
                "default": "sample.json",
                "description": "the JSON file to read: absolute, or relative to the connector's folder",
            },
        },
    },
}

CATALOG_STREAM = {
    "name": STREAM,
    "json_schema": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "updated": {"type": "string"}},
    },
    "supported_sync_modes": ["full_refresh", "incremental"],
    "source_defined_cursor": True,
    "default_cursor_field": ["updated"],
    "source_defined_primary_key": [["id"]],  # the remote id in Switchboard: people/<id>
}


def emit(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log(message, level="INFO"):
    emit({"type": "LOG", "log": {"level": level, "message": message}})


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_people(config):
    """Every person in the file, oldest update first. Raises ValueError with a sentence."""
    path = config.get("file", "sample.json")
    if not os.path.isabs(path):
        path = os.path.join(HERE, path)
    try:
        people = load_json(path)
    except (OSError, ValueError) as err:
        raise ValueError("cannot read %s: %s" % (path, err)) from err
    if not isinstance(people, list) or not all(isinstance(p, dict) and "id" in p and "updated" in p for p in people):
        raise ValueError('%s must hold a list of people, each with an "id" and an "updated" time' % path)
    return sorted(people, key=lambda p: str(p["updated"]))


def stream_cursor(state):
    """The `updated` value this stream reached last time, from the state Switchboard gives back."""
    for entry in state if isinstance(state, list) else []:
        stream = entry.get("stream") or {}
        if stream.get("stream_descriptor", {}).get("name") == STREAM:
            return (stream.get("stream_state") or {}).get("updated")
    return None


def checkpoint(updated):
    # Switchboard commits this with the records before it; the next run gets it with --state.
    emit({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": STREAM}, "stream_state": {"updated": updated}}}})


def read(config, catalog, state):
    wanted = {s["stream"]["name"]: s for s in catalog.get("streams", [])}
    if STREAM not in wanted:
        return
    incremental = wanted[STREAM].get("sync_mode") == "incremental"
    since = stream_cursor(state) if incremental else None
    log("reading %s%s" % (STREAM, " updated after %s" % since if since else ""))
    sent = 0
    last_updated = since
    for person in read_people(config):
        if since is not None and str(person["updated"]) <= since:
            continue
        emit({"type": "RECORD", "record": {"stream": STREAM, "data": person, "emitted_at": int(time.time() * 1000)}})
        sent += 1
        last_updated = str(person["updated"])
        if incremental and sent % 5 == 0:
            checkpoint(last_updated)
    if incremental and sent:
        checkpoint(last_updated)
    log("sent %d records" % sent)


def main(argv):
    parser = argparse.ArgumentParser(prog="main.py", description="{{name}}: an Airbyte source")
    parser.add_argument("command", choices=["spec", "check", "discover", "read"])
    parser.add_argument("--config")
    parser.add_argument("--catalog")
    parser.add_argument("--state")
    args = parser.parse_args(argv)
    if args.command == "spec":
        emit({"type": "SPEC", "spec": SPEC})
        return 0
    config = load_json(args.config) if args.config else {}
    if args.command == "check":
        try:
            read_people(config)
            emit({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
        except ValueError as err:
            emit({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": str(err)}})
        return 0
    if args.command == "discover":
        emit({"type": "CATALOG", "catalog": {"streams": [CATALOG_STREAM]}})
        return 0
    try:
        read(config, load_json(args.catalog), load_json(args.state) if args.state else None)
    except ValueError as err:
        # A TRACE error fails the run with this message; records and states before it stay.
        emit({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": int(time.time() * 1000),
              "error": {"message": str(err), "failure_type": "config_error"}}})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
