"""Hub addresses: ``cd://host:port`` (TCP), ``cd:///path/to.sock`` (Unix socket) and
``cds://host:port`` (TLS), with the communicator's default ports (4040, 4043)."""

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import SwitchboardError

DEFAULT_ADDRESS = "cd://127.0.0.1:4040"
_DEFAULT_PORTS = {"cd": 4040, "cds": 4043}


@dataclass(frozen=True)
class Address:
    url: str
    scheme: str
    transport: str  # "tcp" | "unix" | "tls"
    host: str = ""
    port: int = 0
    path: str = ""


def with_scheme(value: str, scheme: str = "cd") -> str:
    """The communicator's bare forms get a scheme: ``127.0.0.1:4040`` -> ``cd://127.0.0.1:4040``,
    ``/run/x.sock`` -> ``cd:///run/x.sock``; a URL is returned unchanged."""
    v = value.strip()
    if not v or "://" in v:
        return v
    return "cd://" + v if v.startswith("/") else "%s://%s" % (scheme, v)


def resolve_address(url=None) -> str:
    """The argument, else ``SWITCHBOARD_ADDRESS``, else the communicator's ``COMMUNICATOR_LISTEN``,
    else ``cd://127.0.0.1:4040``; bare ``ip:port`` and socket paths are taken as ``cd:``."""
    if url is None:
        url = os.environ.get("SWITCHBOARD_ADDRESS") or os.environ.get("COMMUNICATOR_LISTEN") or DEFAULT_ADDRESS
    address = with_scheme(url)
    if not address:
        raise SwitchboardError("INVALID_ARGUMENT", "the hub address is empty: give a URL such as cd://127.0.0.1:4040")
    return address


def parse_address(url: str) -> Address:
    def refuse(problem: str):
        return SwitchboardError("UNSUPPORTED_ADDRESS", "address %r: %s" % (url, problem))

    text = url.strip()
    if "://" not in text:
        raise refuse("expected a URL such as cd://127.0.0.1:4040, cd:///run/switchboard.sock or cds://host:4043")
    scheme = text.split("://", 1)[0].lower()
    if scheme not in _DEFAULT_PORTS:
        raise refuse('the Python client speaks cd: and cds:, not "%s:"' % scheme)
    parts = urlsplit(text)
    if not parts.hostname:
        if scheme != "cd" or not parts.path:
            raise refuse("a Unix socket is cd:///path/to.sock; cds: needs a host")
        return Address(url=text, scheme=scheme, transport="unix", path=parts.path)
    try:
        port = parts.port if parts.port is not None else _DEFAULT_PORTS[scheme]
    except ValueError:
        raise refuse("the port must be a number from 1 to 65535") from None
    if not 0 < port < 65536:
        raise refuse("the port must be a number from 1 to 65535")
    return Address(url=text, scheme=scheme, transport="tls" if scheme == "cds" else "tcp", host=parts.hostname, port=port)


_TOKEN = __import__("re").compile(r"^[\x21-\x7e]{16,512}$")


def _is_local(address: Address) -> bool:
    if address.transport == "unix":
        return True
    host = address.host
    return host in ("localhost", "::1") or host.startswith("127.") or host.startswith("::ffff:127.")


def client_token(address: Address, given=None):
    """The token a client proves itself with (SECURITY.md; src/trust/client-token.ts): ``given``
    (``False``: none), else ``SWITCHBOARD_TOKEN``, else, for a hub on this machine, the admin token
    in ``$SWITCHBOARD_HOME/hub.token`` (``~/.switchboard/hub.token``) when that file is this user's
    and nobody else may read it. Returns ``(token, source)`` or ``None``; never raises."""
    if given is False:
        return None
    if given:
        return str(given), "option"
    env = os.environ.get("SWITCHBOARD_TOKEN", "").strip()
    if env:
        return env, "env"
    if not _is_local(address):
        return None
    home = os.environ.get("SWITCHBOARD_HOME") or os.path.join(os.environ.get("HOME", "/tmp"), ".switchboard")
    path = os.path.join(home, "hub.token")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            return None  # someone else's, or others can read it: its token may be known
        token = os.read(fd, 1024).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    if not _TOKEN.match(token) or any(c in token for c in ";\"'\\"):
        return None
    return token, "file"
