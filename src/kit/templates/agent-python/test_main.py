"""Runs the connector as the agent does (a child process, JSON lines on stdin/stdout) and checks
what it declares, emits and answers: `python3 -m unittest discover -s {{name}}`."""
import json
import os
import subprocess
import sys
import unittest

MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")


class Connector(unittest.TestCase):
    def setUp(self):
        env = dict(os.environ, TICK_SECONDS="0.05")
        self.proc = subprocess.Popen(
            [sys.executable, MAIN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )
        self.addCleanup(self.stop)

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()

    def next_line(self):
        return json.loads(self.proc.stdout.readline())

    def test_declares_itself_ticks_and_answers_tasks_by_id(self):
        self.assertEqual(self.next_line(), {"type": "hello", "events": ["tick"], "tasks": ["greet"]})
        tick = self.next_line()
        self.assertEqual((tick["type"], tick["key"], tick["data"]["n"]), ("event", "tick", 1))

        for task in (
            {"type": "task", "id": "t1", "key": "greet", "inputs": {"name": "Ada"}},
            {"type": "task", "id": "t2", "key": "greet", "inputs": {}},
            {"type": "task", "id": "t3", "key": "fly", "inputs": {}},
        ):
            self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()
        results = {}
        while len(results) < 3:
            line = self.next_line()
            if line["type"] == "result":
                results[line["id"]] = line
        self.assertEqual(results["t1"], {"type": "result", "id": "t1", "outputs": {"greeting": "Hello, Ada!"}})
        self.assertIn('greet needs a "name"', results["t2"]["error"])
        self.assertIn("no task 'fly'", results["t3"]["error"])


if __name__ == "__main__":
    unittest.main()
