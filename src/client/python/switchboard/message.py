"""The hub's message and its two line forms, as in src/core/codec (the communicator's text form,
byte for byte, and the typed JSON form). Standard library only.

Text form::

    ['<' from_server ':' from_service ' '] [[server ':'] service '/'] COMMAND [' ' name '=' value (';' name '=' value)*]

Parameters are written sorted by name; a value is escaped (``\\`` -> ``\\\\``, LF -> ``\\n``,
CR -> ``\\r``) and wrapped in quotes when it contains ``;``, starts with ``"`` or ends in white
space. Every value of the text form is a string; the JSON form keeps numbers, booleans, lists and
objects.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict

from .errors import InvalidMessageError

PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
COMMAND_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")
_INSTANCE = re.compile(r"[A-Za-z0-9_]+\Z")
_BROADCAST = ("*", "?", ".")
# What C's isspace() calls white space (what the communicator's reader trims).
_SPACE = " \t\n\v\f\r"


def is_param_name(name: str) -> bool:
    return bool(PARAM_NAME.match(name))


def is_command_name(name: str) -> bool:
    return bool(COMMAND_NAME.match(name))


def is_server_name(name: str) -> bool:
    return name == "" or name in _BROADCAST or is_param_name(name)


def is_service_name(name: str) -> bool:
    """``''``, ``*``, ``?``, ``.``, a name, or ``name#instance``."""
    if name == "" or name in _BROADCAST:
        return True
    base, hash_, instance = name.partition("#")
    if not hash_:
        return is_param_name(name)
    return is_param_name(base) and bool(_INSTANCE.match(instance))


def _bad_name(kind: str, name: str) -> str:
    rules = {
        "command": "upper case letters, digits and _, not starting with a digit",
        "parameter": "letters, digits and _, not starting with a digit",
        "server": "letters, digits and _, not starting with a digit, or one of * ? .",
        "service": "letters, digits and _, not starting with a digit, optionally #instance, or one of * ? .",
    }
    return "invalid %s name %s: use %s" % (kind, json.dumps(name), rules[kind])


@dataclass
class Message:
    """One message: who sent it, where it goes, a command and its parameters."""

    command: str
    params: Dict[str, Any] = field(default_factory=dict)
    server: str = ""
    service: str = ""
    sent_from_server: str = ""
    sent_from_service: str = ""

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def check(self) -> None:
        """Raises InvalidMessageError when a name breaks the protocol's rules."""
        if not is_command_name(self.command):
            raise InvalidMessageError(_bad_name("command", self.command))
        for kind, value in (("server", self.server), ("server", self.sent_from_server)):
            if not is_server_name(value):
                raise InvalidMessageError(_bad_name(kind, value))
        for value in (self.service, self.sent_from_service):
            if not is_service_name(value):
                raise InvalidMessageError(_bad_name("service", value))
        for name in self.params:
            if not isinstance(name, str) or not is_param_name(name):
                raise InvalidMessageError(_bad_name("parameter", str(name)))


def param_to_text(value: Any) -> str:
    """A parameter value as the text form carries it (as JavaScript's String() and JSON.stringify do)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidMessageError("a parameter value cannot be %r" % value)
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidMessageError("cannot write a parameter value as text: %s" % err) from err


def _encode_value(value: str) -> str:
    safe = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    if safe and (safe[0] == '"' or ";" in safe or safe[-1] in _SPACE):
        return '"' + safe.replace('"', '\\"') + '"'
    return safe


def encode_text(msg: Message) -> str:
    """The text line for a message, without the newline."""
    msg.check()
    out = ""
    if msg.sent_from_server or msg.sent_from_service:
        out = "<%s:%s " % (msg.sent_from_server, msg.sent_from_service)
    if msg.service:
        out += "%s:%s/" % (msg.server, msg.service) if msg.server else msg.service + "/"
    out += msg.command
    sep = " "
    for name in sorted(msg.params):
        out += sep + name + "=" + _encode_value(param_to_text(msg.params[name]))
        sep = ";"
    return out


def _fail(reason: str, line: str) -> "InvalidMessageError":
    shown = line if len(line) <= 120 else line[:120] + "..."
    return InvalidMessageError("%s (in %s)" % (reason, json.dumps(shown)))


def _unescape(line: str, start: int, end: int, quoted: bool):
    """Undoes ``\\\\``, ``\\n``, ``\\r`` (and ``\\"`` in quotes); returns (value, index after it)."""
    out = []
    i = start
    while i < end:
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            nxt = line[i + 1]
            repl = {"\\": "\\", "n": "\n", "r": "\r"}.get(nxt)
            if repl is None and quoted and nxt == '"':
                repl = '"'
            if repl is not None:
                out.append(repl)
                i += 2
                continue
        if quoted and c == '"':
            return "".join(out), i
        out.append(c)
        i += 1
    if quoted:
        raise _fail('a quoted parameter value must end with a quote (")', line)
    return "".join(out), end


def decode_text(text: str) -> Message:
    """Parses one text line (trimmed first); raises InvalidMessageError saying what is wrong."""
    line = text.strip(_SPACE)
    if not line:
        raise _fail('the line is empty: expected a message such as "service/COMMAND name=value"', text)
    msg = Message(command="")
    pos = 0
    if line[0] == "<":
        space = line.find(" ", 1)
        if space == -1:
            raise _fail('a message cannot be only a sender block: "<server:service" must be followed by a command', line)
        colon = line.find(":", 1)
        if colon == -1 or colon > space:
            raise _fail('the sender block must be "<server:service " with a colon before the first space', line)
        msg.sent_from_server = line[1:colon]
        msg.sent_from_service = line[colon + 1 : space]
        if not is_server_name(msg.sent_from_server):
            raise _fail("sender " + _bad_name("server", msg.sent_from_server), line)
        if not is_service_name(msg.sent_from_service):
            raise _fail("sender " + _bad_name("service", msg.sent_from_service), line)
        pos = space + 1
    head_end = line.find(" ", pos)
    if head_end == -1:
        head_end = len(line)
    head = line[pos:head_end]
    slash = head.find("/")
    command = head
    if slash != -1:
        target, command = head[:slash], head[slash + 1 :]
        colon = target.find(":")
        if colon != -1:
            msg.server, msg.service = target[:colon], target[colon + 1 :]
            if msg.server == "":
                raise _fail('a server name cannot be empty before ":" (write server:service/COMMAND)', line)
            if not is_server_name(msg.server):
                raise _fail(_bad_name("server", msg.server), line)
        else:
            msg.service = target
        if msg.service == "":
            raise _fail('a service name is required before "/" (write service/COMMAND)', line)
        if not is_service_name(msg.service):
            raise _fail(_bad_name("service", msg.service), line)
    if command == "":
        raise _fail('a command is required (e.g. "service/COMMAND")', line)
    if not is_command_name(command):
        raise _fail(_bad_name("command", command), line)
    msg.command = command
    pos = head_end + 1
    n = len(line)
    while pos < n:
        eq = line.find("=", pos)
        if eq == -1:
            raise _fail('parameter %s must be followed by "=" and a value' % json.dumps(line[pos : pos + 64]), line)
        name = line[pos:eq]
        if not is_param_name(name):
            raise _fail(_bad_name("parameter", name), line)
        v = eq + 1
        if v < n and line[v] == '"':
            value, close = _unescape(line, v + 1, n, True)
            pos = close + 1
            if pos < n:
                if line[pos] != ";":
                    raise _fail('after the quoted value of %s, expected ";" before the next parameter' % name, line)
                pos += 1
        else:
            semi = line.find(";", v)
            if semi == -1:
                semi = n
            value, _ = _unescape(line, v, semi, False)
            pos = semi + 1
        msg.params[name] = value
    return msg


def encode_json(msg: Message) -> str:
    """The JSON line for a message (typed parameter values), without the newline."""
    msg.check()
    out: Dict[str, Any] = {}
    if msg.sent_from_server:
        out["sent-from-server"] = msg.sent_from_server
    if msg.sent_from_service:
        out["sent-from-service"] = msg.sent_from_service
    if msg.server:
        out["server"] = msg.server
    if msg.service:
        out["service"] = msg.service
    out["command"] = msg.command
    out["parameters"] = msg.params
    try:
        return json.dumps(out, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InvalidMessageError("cannot encode the parameters of %s as JSON: %s" % (msg.command, err)) from err


def decode_json(line: str) -> Message:
    try:
        raw = json.loads(line)
    except ValueError as err:
        raise InvalidMessageError('a line starting with "{" must be a JSON message: %s' % err) from err
    if not isinstance(raw, dict):
        raise InvalidMessageError("invalid JSON message: not an object")
    if not isinstance(raw.get("command"), str):
        raise InvalidMessageError('invalid JSON message: the "command" key is required and must be a string')
    fields = {}
    for key in ("sent-from-server", "sent-from-service", "server", "service"):
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise InvalidMessageError('invalid JSON message: "%s" must be a string' % key)
        fields[key] = value
    params = raw.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InvalidMessageError('invalid JSON message: "parameters" must be an object of name -> value')
    msg = Message(
        command=raw["command"],
        params=params,
        server=fields["server"],
        service=fields["service"],
        sent_from_server=fields["sent-from-server"],
        sent_from_service=fields["sent-from-service"],
    )
    msg.check()
    return msg


def decode_line(line: str) -> Message:
    """A line in either form: one starting with ``{`` is JSON, anything else text."""
    if line.lstrip(_SPACE).startswith("{"):
        return decode_json(line)
    return decode_text(line)


def encode_line(msg: Message, fmt: str = "text") -> str:
    return encode_json(msg) if fmt == "json" else encode_text(msg)
