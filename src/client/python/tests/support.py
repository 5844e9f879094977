"""A real hub for the tests: `switchboard hub` as a child process on a free port, restartable on
the same port (for reconnect tests). SWITCHBOARD_CLI names the command as a JSON list (the
TypeScript test that runs these sets it to this checkout's bin/switchboard.js); otherwise
`switchboard` from PATH."""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

# Run from a checkout, the package is one folder up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def cli_command():
    raw = os.environ.get("SWITCHBOARD_CLI")
    if raw:
        return json.loads(raw)
    found = shutil.which("switchboard")
    if not found:
        raise unittest.SkipTest("no switchboard CLI: set SWITCHBOARD_CLI or put switchboard on PATH")
    return [found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Hub:
    """One hub process; `url` stays the same across restarts."""

    def __init__(self, extra_args=None):
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.home = tempfile.mkdtemp(prefix="switchboard-pytest-")
        self.socket_path = os.path.join(self.home, "hub.sock")
        self.proc = None
        self.log = os.path.join(self.home, "hub.log")

    @property
    def url(self) -> str:
        return "cd://127.0.0.1:%d" % self.port

    @property
    def unix_url(self) -> str:
        return "cd://" + self.socket_path

    def start(self, timeout: float = 60.0) -> "Hub":
        env = dict(os.environ, SWITCHBOARD_HOME=self.home, SWITCHBOARD_LOG_LEVEL="warn")
        args = cli_command() + [
            "hub",
            "--local-listen",
            self.url,
            "--unix-listen",
            self.unix_url,
            "--signal",
            "off",
        ] + self.extra_args
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError("the hub exited with %s:\n%s" % (self.proc.returncode, self.output()))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the hub did not listen on %s within %s s:\n%s" % (self.url, timeout, self.output()))
            time.sleep(0.05)
        return self

    def output(self) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Kills the hub like a crash and waits for it to exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def wait_until(check, timeout: float = 10.0, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %s s waiting for %s" % (timeout, what))
        time.sleep(0.02)
