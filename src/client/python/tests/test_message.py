"""The line forms: the communicator's text form byte for byte, the JSON form, and the same bytes
as the TypeScript codec (SWITCHBOARD_CODEC_FIXTURES: lines it encoded, written by the test that
runs these)."""

import json
import os
import unittest

import support  # noqa: F401  (puts the package on sys.path)
from switchboard import InvalidMessageError, Message, decode_line, decode_text, encode_json, encode_text


class TextForm(unittest.TestCase):
    def test_reads_the_communicators_example(self):
        m = decode_text("<srv1:cluck srv2:cluckd/LOCK key=abc;timeout=5")
        self.assertEqual((m.sent_from_server, m.sent_from_service), ("srv1", "cluck"))
        self.assertEqual((m.server, m.service, m.command), ("srv2", "cluckd", "LOCK"))
        self.assertEqual(m.params, {"key": "abc", "timeout": "5"})

    def test_writes_sorted_parameters_and_only_the_blocks_that_are_set(self):
        m = Message("LOCK", {"timeout": 5, "key": "abc"}, service="cluckd")
        self.assertEqual(encode_text(m), "cluckd/LOCK key=abc;timeout=5")
        self.assertEqual(encode_text(Message("HELP")), "HELP")
        self.assertEqual(encode_text(Message("X", server="a", service="b", sent_from_service="c")), "<:c a:b/X")

    def test_quotes_and_escapes_values(self):
        m = Message("SET", {"cache": "no;reply", "text": 'line 1\nline "2"\\', "pad": "ends in a space ", "q": '"x'})
        line = encode_text(m)
        self.assertEqual(
            line, 'SET cache="no;reply";pad="ends in a space ";q="\\"x";text=line 1\\nline "2"\\\\'
        )
        self.assertEqual(decode_text(line).params, m.params)

    def test_values_become_text(self):
        m = Message("T", {"n": 1, "f": 2.5, "whole": 3.0, "yes": True, "none": None, "list": [1, "a"], "obj": {"k": 1}})
        self.assertEqual(
            decode_text(encode_text(m)).params,
            {"n": "1", "f": "2.5", "whole": "3", "yes": "true", "none": "", "list": '[1,"a"]', "obj": '{"k":1}'},
        )

    def test_reads_a_trailing_semicolon_and_trims(self):
        self.assertEqual(decode_text("  svc/CMD a=1;  \r").params, {"a": "1"})

    def test_refuses_bad_lines_with_a_reason(self):
        cases = {
            "": "empty",
            "svc/lower": "invalid command name",
            "a:/CMD": "service name is required",
            "bad-name/CMD": "invalid service name",
            "CMD 1x=2": "invalid parameter name",
            "CMD a": 'followed by "="',
            'CMD a="open': "end with a quote",
            '<srv CMD': "colon before the first space",
        }
        for line, reason in cases.items():
            with self.subTest(line=line):
                with self.assertRaises(InvalidMessageError) as caught:
                    decode_text(line)
                self.assertIn(reason, str(caught.exception))

    def test_refuses_to_write_bad_names(self):
        for m in (Message("lower"), Message("X", service="a b"), Message("X", {"1a": "v"})):
            with self.subTest(m=m):
                with self.assertRaises(InvalidMessageError):
                    encode_text(m)


class JsonForm(unittest.TestCase):
    def test_keeps_types(self):
        m = Message("T", {"n": 1, "yes": True, "list": [1, {"a": None}]}, service="svc", sent_from_server="h")
        line = encode_json(m)
        self.assertEqual(
            json.loads(line),
            {"sent-from-server": "h", "service": "svc", "command": "T", "parameters": {"n": 1, "yes": True, "list": [1, {"a": None}]}},
        )
        self.assertEqual(decode_line(line), m)

    def test_refuses_bad_envelopes(self):
        for line, reason in (
            ("{", "must be a JSON message"),
            ('{"service":"s"}', '"command" key is required'),
            ('{"command":"X","parameters":[]}', '"parameters" must be an object'),
            ('{"command":"X","service":1}', '"service" must be a string'),
            ('{"command":"lower"}', "invalid command name"),
        ):
            with self.subTest(line=line):
                with self.assertRaises(InvalidMessageError) as caught:
                    decode_line(line)
                self.assertIn(reason, str(caught.exception))


@unittest.skipUnless(os.environ.get("SWITCHBOARD_CODEC_FIXTURES"), "SWITCHBOARD_CODEC_FIXTURES is not set")
class SameBytesAsTypeScript(unittest.TestCase):
    def test_every_fixture(self):
        with open(os.environ["SWITCHBOARD_CODEC_FIXTURES"], encoding="utf-8") as f:
            fixtures = json.load(f)
        self.assertGreater(len(fixtures), 5)
        for fx in fixtures:
            m = fx["message"]
            msg = Message(
                m["command"],
                m["params"],
                server=m["to"]["server"],
                service=m["to"]["service"],
                sent_from_server=m["sentFrom"]["server"],
                sent_from_service=m["sentFrom"]["service"],
            )
            with self.subTest(text=fx["text"]):
                self.assertEqual(encode_text(msg), fx["text"])
                self.assertEqual(json.loads(encode_json(msg)), json.loads(fx["json"]))
                back = decode_text(fx["text"])
                self.assertEqual(back.params, {k: fx["textParams"][k] for k in fx["textParams"]})
                self.assertEqual(decode_line(fx["json"]), msg)


if __name__ == "__main__":
    unittest.main()
