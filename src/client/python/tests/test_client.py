"""The client against a real hub (a `switchboard hub` process): registration, requests and
replies in both formats, errors as codes, broadcasts, the answers every service owes, the queue
while the hub is away, reconnecting with the back-off, and the TypeScript tools talking to it."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest
from unittest import mock

from support import Hub, cli_command, wait_until
from switchboard import Client, ConnectionClosedError, RequestTimeoutError, SwitchboardError, connect

FAST = (0.05, 0.1)  # back-off for tests: the communicator's 1, 1, 1, 3, ... s is the default


class AgainstOneHub(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.hub = Hub().start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.cleanup()

    def client(self, **options) -> Client:
        c = connect(self.hub.url, backoff=FAST, **options)
        self.addCleanup(c.close)
        return c

    def clock(self, name: str, **options) -> Client:
        c = self.client(**options)
        c.on("TIME", lambda m: {"command": "NOW", "params": {"zone": m.params.get("zone", "UTC"), "epoch": 1700000000}})
        reg = c.register(name)
        self.assertEqual(reg.service, name)
        self.assertEqual(reg.hub_address, "127.0.0.1:%d" % self.hub.port)
        return c

    def test_request_and_reply_in_both_formats(self):
        self.clock("py_clock_text")
        self.clock("py_clock_json", format="json")
        caller = self.client(format="json")
        caller.register("py_caller_1")
        text_reply = caller.request("TIME", to="py_clock_text", params={"zone": "CET"}, timeout=5)
        self.assertEqual(text_reply.command, "NOW")
        self.assertEqual(text_reply.sent_from_service, "py_clock_text")
        self.assertEqual(text_reply.params["zone"], "CET")
        self.assertEqual(text_reply.params["epoch"], "1700000000")  # the text form carries strings
        json_reply = caller.request("TIME", to="py_clock_json", timeout=5)
        self.assertEqual(json_reply.params["epoch"], 1700000000)  # JSON to JSON keeps the number
        self.assertEqual(caller.stats["invalid"], 0)

    def test_errors_arrive_as_codes(self):
        service = self.client()

        def conflict(_msg):
            raise SwitchboardError("CONFLICT", "the key is locked by someone else")

        def crash(_msg):
            raise ValueError("division by zero, somewhere")

        service.on("LOCK", conflict)
        service.on("CRASH", crash)
        service.register("py_errors")
        caller = self.client()
        caller.register("py_caller_2")
        cases = [
            (("LOCK", "py_errors"), {}, "CONFLICT", "locked by someone else"),
            (("CRASH", "py_errors"), {}, "INTERNAL", "division by zero"),
            (("NOPE", "py_errors"), {}, "NOT_FOUND", "py_errors does not understand NOPE"),
            (("TIME", "py_nobody"), {"cache": "no;reply"}, "UNAVAILABLE", "not registered"),
        ]
        for (command, to), params, code, text in cases:
            with self.subTest(command=command, to=to):
                with self.assertRaises(SwitchboardError) as caught:
                    caller.request(command, to=to, params=params, timeout=5)
                self.assertEqual(caught.exception.code, code)
                self.assertIn(text, caught.exception.message)
        silent = self.client()
        silent.on("SLOW", lambda m: None)  # never answers
        silent.register("py_silent")
        with self.assertRaises(RequestTimeoutError):
            caller.request("SLOW", to="py_silent", timeout=0.3)

    def test_a_taken_name_is_refused_and_instances_are_counted(self):
        self.client().register("py_twice")
        with self.assertRaises(SwitchboardError) as caught:
            self.client().register("py_twice", timeout=5)
        self.assertEqual(caught.exception.code, "REFUSED")
        self.assertIn("already registered", caught.exception.message)
        second = self.client().register("py_twice", instance=True)
        self.assertEqual(second.instance, "2")

    def test_broadcast_reaches_those_who_listed_the_command(self):
        got = []
        listener = self.client()
        listener.on("RELOAD", lambda m: got.append(m.params.get("why")))
        listener.register("py_listener")
        deaf = self.client()
        deaf_got = []
        deaf.on("OTHER", lambda m: deaf_got.append(m))
        deaf.register("py_deaf")
        sender = self.client()
        sender.register("py_broadcaster")
        sender.broadcast("RELOAD", {"why": "config"})
        wait_until(lambda: got == ["config"], what="the broadcast")
        self.assertEqual(deaf_got, [])

    def test_help_alive_and_unknown_are_answered_by_the_library(self):
        self.client().register("py_quiet")
        asker = self.client()
        asker.register("py_asker")
        help_reply = asker.request("HELP", to="py_quiet", timeout=5, match=lambda m: m.command == "COMMANDS")
        self.assertIn("ALIVE", help_reply.params["list"].split(","))
        alive = asker.request("ALIVE", to="py_quiet", params={"serial": "42"}, timeout=5)
        self.assertEqual(alive.command, "ABSOLUTELY")
        self.assertEqual(alive.params["serial"], "42")
        self.assertGreater(float(alive.params["reply_timestamp"]), 0)

    def test_handlers_may_request_and_see_messages_in_order(self):
        self.clock("py_clock_inner")
        seen = []
        relay = self.client()

        def forward(msg):
            inner = relay.request("TIME", to="py_clock_inner", timeout=5)  # from inside a handler
            seen.append(msg.params["n"])
            return {"command": "RELAYED", "params": {"epoch": inner.params["epoch"], "n": msg.params["n"]}}

        relay.on("RELAY", forward)
        relay.register("py_relay")
        caller = self.client()
        caller.register("py_caller_3")
        replies = [caller.request("RELAY", to="py_relay", params={"n": str(i)}, timeout=5) for i in range(5)]
        self.assertEqual([r.params["n"] for r in replies], ["0", "1", "2", "3", "4"])
        for i in range(5, 25):
            caller.send("RELAY", to="py_relay", params={"n": str(i)})
        wait_until(lambda: len(seen) == 25, what="25 relayed messages")
        self.assertEqual(seen, [str(i) for i in range(25)])

    def test_close_unregisters(self):
        gone = self.client()
        gone.register("py_leaving")
        watcher = self.client()
        watcher.register("py_watcher")
        names = lambda: {s["name"]: s["status"] for s in watcher.list_services(timeout=5)}  # noqa: E731
        self.assertEqual(names()["py_leaving"], "up")
        gone.close()
        wait_until(lambda: names().get("py_leaving") != "up", what="py_leaving to leave the registry")
        self.assertFalse(gone.send("X"))
        with self.assertRaises(ConnectionClosedError):
            gone.request("X")

    def test_stop_closes_the_client(self):
        victim = self.client()
        victim.register("py_stoppable")
        states = []
        victim.on_state(lambda s: states.append(s.status))
        boss = self.client()
        boss.register("py_boss")
        boss.send("STOP", to="py_stoppable")
        wait_until(lambda: victim.state.status == "closed", what="the client to close on STOP")
        wait_until(lambda: "closed" in states, what="the closed state to reach the listener")

    def test_the_hubs_token_file_makes_the_same_user_admin(self):
        sniffing = lambda m: m.command == "SNIFFING" and m.sent_from_service == ""  # noqa: E731
        # Not this hub's token (another home): SNIFF is refused with the rule.
        with mock.patch.dict(os.environ, {"SWITCHBOARD_HOME": tempfile.mkdtemp(prefix="sb-other-home-")}):
            stranger = self.client()
            stranger.register("py_stranger")
            with self.assertRaises(SwitchboardError) as refused:
                stranger.request("SNIFF", params={"command": "NOTHING_REAL"}, match=sniffing, timeout=5)
            self.assertIn("may not use SNIFF", str(refused.exception))
        # The hub's home: the client finds hub.token by itself and proves the admin.
        with mock.patch.dict(os.environ, {"SWITCHBOARD_HOME": self.hub.home}):
            owner = self.client()
            owner.register("py_owner")
            self.assertEqual(owner.request("SNIFF", params={"command": "NOTHING_REAL"}, match=sniffing, timeout=5).command, "SNIFFING")
            owner.send("UNSNIFF")
        # token=False sends none, whatever the environment holds.
        with mock.patch.dict(os.environ, {"SWITCHBOARD_HOME": self.hub.home}):
            plain = self.client(token=False)
            plain.register("py_plain")
            with self.assertRaises(SwitchboardError):
                plain.request("SNIFF", params={"command": "NOTHING_REAL"}, match=sniffing, timeout=5)

    def test_a_unix_socket_address(self):
        c = connect(self.hub.unix_url)
        self.addCleanup(c.close)
        self.assertEqual(c.register("py_unix").service, "py_unix")

    def test_the_typescript_tools_talk_to_a_python_service(self):
        self.clock("py_clock_cli")
        out = subprocess.run(
            cli_command() + ["send", "--address", self.hub.url, "--wait", "--timeout", "10000", "py_clock_cli/TIME zone=UTC"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"<[^ ]*:py_clock_cli [^ ]*/NOW epoch=1700000000;zone=UTC")

    def test_bad_arguments_say_what_is_wrong(self):
        c = self.client()
        for call, text in (
            (lambda: c.send("lower"), "invalid command"),
            (lambda: c.send("X", to="bad name"), "invalid service name"),
            (lambda: c.register("a#1"), "cannot register"),
            (lambda: c.request("X", to="someone"), "before register()"),
        ):
            with self.subTest(text=text):
                with self.assertRaises(SwitchboardError) as caught:
                    call()
                self.assertIn(text, caught.exception.message)


class TheCommunicatorsHabits(unittest.TestCase):
    """COMMUNICATOR_LISTEN and bare ``ip:port`` addresses; SWITCHBOARD_CA for a hub whose
    certificate a private CA signed (here: the self-signed certificate is its own CA)."""

    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("no openssl to make a test certificate")
        cls.keys = tempfile.mkdtemp(prefix="switchboard-pyca-")
        cls.cert = os.path.join(cls.keys, "cert.pem")
        key = os.path.join(cls.keys, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", cls.cert, "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True,
        )
        from support import free_port

        cls.tls_port = free_port()
        cls.hub = Hub(["--secure-listen", "cds://127.0.0.1:%d" % cls.tls_port, "--certificate", cls.cert,
                       "--private-key", key]).start()

    @classmethod
    def tearDownClass(cls):
        cls.hub.cleanup()
        shutil.rmtree(cls.keys, ignore_errors=True)

    def test_communicator_listen_with_a_bare_address(self):
        with mock.patch.dict(os.environ, {"COMMUNICATOR_LISTEN": "127.0.0.1:%d" % self.hub.port}):
            os.environ.pop("SWITCHBOARD_ADDRESS", None)
            c = connect()
            self.addCleanup(c.close)
            self.assertEqual(c.register("py_habit").hub_address, "127.0.0.1:%d" % self.hub.port)

    def test_switchboard_ca_lets_a_cds_address_verify_the_hub(self):
        url = "cds://127.0.0.1:%d" % self.tls_port
        with mock.patch.dict(os.environ, {"SWITCHBOARD_CA": ""}):
            with self.assertRaises(SwitchboardError):
                connect(url, reconnect=False).close()  # the system's CAs do not know this hub
        with mock.patch.dict(os.environ, {"SWITCHBOARD_CA": self.cert}):
            c = connect(url, reconnect=False)
            self.addCleanup(c.close)
            self.assertEqual(c.register("py_tls").service, "py_tls")


class AgainstAHubThatSendsNoHelp(unittest.TestCase):
    def test_commands_added_while_registering_are_announced_after_ready(self):
        # A hub of a few lines: READY a while after REGISTER and no HELP (the answer to HELP would
        # carry the list): what it hears after READY is what the client announced by itself.
        lines = []
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        self.addCleanup(server.close)

        def serve():
            conn, _ = server.accept()
            self.addCleanup(conn.close)
            buffer = b""
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    lines.append(line.decode())
                    if line.startswith(b"REGISTER"):
                        threading.Timer(0.2, lambda: conn.sendall(b"READY server_name=fake;service=py_late\n")).start()

        threading.Thread(target=serve, daemon=True).start()
        client = connect("cd://127.0.0.1:%d" % server.getsockname()[1], token=False)
        self.addCleanup(client.close)
        registering = threading.Thread(target=lambda: client.register("py_late"), daemon=True)
        registering.start()
        wait_until(lambda: any(l.startswith("REGISTER") for l in lines), what="REGISTER at the fake hub")
        self.assertNotIn("LATE_NEWS", next(l for l in lines if l.startswith("REGISTER")))
        client.on("LATE_NEWS", lambda m: None)
        registering.join(5)
        wait_until(
            lambda: any(l.startswith("COMMANDS") and "LATE_NEWS" in l for l in lines),
            what="COMMANDS with LATE_NEWS after READY",
        )


class WhenTheHubGoesAway(unittest.TestCase):
    def setUp(self):
        self.hub = Hub().start()
        self.addCleanup(self.hub.cleanup)

    def test_reconnects_registers_again_and_delivers_what_was_queued(self):
        service = connect(self.hub.url, backoff=FAST)
        self.addCleanup(service.close)
        service.register("py_survivor")
        sender = connect(self.hub.url, backoff=FAST, queue_capacity=3)
        self.addCleanup(sender.close)
        # The queued messages go to the sender itself: the only service sure to be registered again
        # when they leave (they wait for its READY); the restarted hub knows no other name yet.
        got = []
        sender.on("NOTE", lambda m: got.append(m.params["n"]))
        sender.register("py_sender")
        states = []
        sender.on_state(lambda s: states.append((s.status, s.retry_in)))

        self.hub.stop()
        wait_until(lambda: sender.state.status in ("disconnected", "connecting"), what="the sender to notice")
        for n in range(5):  # the queue keeps the newest 3
            self.assertTrue(sender.send("NOTE", to="py_sender", params={"n": str(n)}))
        self.assertEqual(sender.stats["dropped"], 2)

        self.hub.start()
        wait_until(lambda: sender.state.status == "ready" and service.state.status == "ready", what="both to register again")
        wait_until(lambda: got == ["2", "3", "4"], what="the queued messages")
        self.assertGreaterEqual(sender.stats["reconnects"], 1)
        delays = [retry for status, retry in states if status == "disconnected"]
        self.assertTrue(delays and set(delays) <= set(FAST), delays)

    def test_the_queue_is_bounded_in_bytes_too(self):
        sender = connect(self.hub.url, backoff=FAST, queue_max_bytes=500)
        self.addCleanup(sender.close)
        got = []
        sender.on("NOTE", lambda m: got.append(m.params["n"]))
        sender.register("py_bytes")
        self.hub.stop()
        wait_until(lambda: sender.state.status in ("disconnected", "connecting"), what="the sender to notice")
        self.assertFalse(sender.send("NOTE", to="py_bytes", params={"n": "big", "pad": "x" * 600}))
        for n in range(10):  # each frame is over 100 bytes: at most 4 fit in 500
            self.assertTrue(sender.send("NOTE", to="py_bytes", params={"n": str(n), "pad": "x" * 100}))
        self.hub.start()
        wait_until(lambda: sender.state.status == "ready", what="the sender to register again")
        wait_until(lambda: got and got[-1] == "9", what="the newest queued message")
        self.assertTrue(1 <= len(got) <= 4, got)
        self.assertEqual(got, [str(n) for n in range(10 - len(got), 10)])
        self.assertEqual(sender.stats["dropped"], 1 + 10 - len(got))

    def test_first_connect_fails_with_a_sentence_or_waits(self):
        self.hub.stop()
        with self.assertRaises(ConnectionClosedError) as caught:
            connect(self.hub.url)
        self.assertEqual(caught.exception.code, "CONNECTION_FAILED")
        self.assertIn("is the hub running?", caught.exception.message)

        client = Client(self.hub.url, backoff=FAST)
        self.addCleanup(client.close)
        waiting = threading.Thread(target=client.start, kwargs={"wait": True})
        waiting.start()
        wait_until(lambda: client.state.attempt >= 2, what="a few failed dials")
        self.hub.start()
        waiting.join(60)
        self.assertFalse(waiting.is_alive())
        self.assertEqual(client.register("py_late").service, "py_late")

    def test_without_reconnect_the_client_closes(self):
        c = connect(self.hub.url, reconnect=False)
        c.register("py_once")
        self.hub.stop()
        wait_until(lambda: c.state.status == "closed", what="the client to close")
        self.assertFalse(c.send("X"))


if __name__ == "__main__":
    unittest.main()
