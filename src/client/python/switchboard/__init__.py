"""Switchboard's hub client for Python, standard library only.

    from switchboard import connect

    hub = connect()                                  # SWITCHBOARD_ADDRESS or cd://127.0.0.1:4040
    hub.on("TIME", lambda msg: {"command": "NOW", "params": {"epoch": time.time()}})
    hub.register("clock")                            # returns on READY
    reply = hub.request("TIME", to="clock", timeout=2)
    hub.close()
"""

from .address import DEFAULT_ADDRESS, parse_address
from .client import COMMUNICATOR_BACKOFF, CORRELATION_PARAM, Client, Registration, State, connect
from .errors import ConnectionClosedError, InvalidMessageError, RequestTimeoutError, SwitchboardError
from .message import Message, decode_line, decode_text, encode_json, encode_line, encode_text

__all__ = [
    "COMMUNICATOR_BACKOFF",
    "CORRELATION_PARAM",
    "DEFAULT_ADDRESS",
    "Client",
    "ConnectionClosedError",
    "InvalidMessageError",
    "Message",
    "Registration",
    "RequestTimeoutError",
    "State",
    "SwitchboardError",
    "connect",
    "decode_line",
    "decode_text",
    "encode_json",
    "encode_line",
    "encode_text",
    "parse_address",
]
