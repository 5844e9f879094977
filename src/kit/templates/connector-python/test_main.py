"""Runs the source as Switchboard does (`python3 main.py <command> --config F ...`) and checks its
messages: `python3 -m unittest discover -s {{name}}`."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")


class Source(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)

    def file(self, name, value):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f)
        return path

    def run_source(self, *args, **files):
        argv = [sys.executable, MAIN, *args]
        for name, value in files.items():
            argv += ["--" + name, self.file(name + ".json", value)]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return out.returncode, [json.loads(line) for line in out.stdout.splitlines()]

    def catalog(self, mode="incremental"):
        _, [catalog] = self.run_source("discover", config={})
        stream = catalog["catalog"]["streams"][0]
        return {"streams": [{"stream": stream, "sync_mode": mode, "destination_sync_mode": "append_dedup"}]}

    def test_spec_and_discover(self):
        code, [spec] = self.run_source("spec")
        self.assertEqual((code, spec["type"]), (0, "SPEC"))
        self.assertIn("file", spec["spec"]["connectionSpecification"]["properties"])
        _, [catalog] = self.run_source("discover", config={})
        stream = catalog["catalog"]["streams"][0]
        self.assertEqual((stream["name"], stream["source_defined_primary_key"]), ("people", [["id"]]))

    def test_check_says_what_is_wrong(self):
        _, [ok] = self.run_source("check", config={})
        self.assertEqual(ok["connectionStatus"]["status"], "SUCCEEDED")
        _, [bad] = self.run_source("check", config={"file": "/nonexistent.json"})
        self.assertEqual(bad["connectionStatus"]["status"], "FAILED")
        self.assertIn("cannot read /nonexistent.json", bad["connectionStatus"]["message"])

    def test_reads_everything_then_only_what_changed(self):
        code, messages = self.run_source("read", config={}, catalog=self.catalog())
        self.assertEqual(code, 0)
        records = [m["record"]["data"] for m in messages if m["type"] == "RECORD"]
        states = [m["state"] for m in messages if m["type"] == "STATE"]
        self.assertEqual(len(records), 12)
        self.assertEqual(records[0]["name"], "Ada Lovelace")
        self.assertEqual(len(states), 3)  # after 5, after 10, at the end
        last = states[-1]
        self.assertEqual(last["stream"]["stream_state"]["updated"], records[-1]["updated"])

        people = [{"id": 1, "updated": "2026-01-01T00:00:00Z"}, {"id": 2, "updated": "2026-03-01T00:00:00Z"}]
        config = {"file": self.file("people.json", people)}
        state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "people"}, "stream_state": {"updated": "2026-02-01T00:00:00Z"}}}]
        _, messages = self.run_source("read", config=config, catalog=self.catalog(), state=state)
        self.assertEqual([m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD"], [2])

    def test_a_bad_file_fails_the_read_with_a_trace(self):
        code, messages = self.run_source("read", config={"file": "/nonexistent.json"}, catalog=self.catalog("full_refresh"))
        self.assertEqual(code, 1)
        self.assertIn("cannot read /nonexistent.json", messages[-1]["trace"]["error"]["message"])


if __name__ == "__main__":
    unittest.main()
