"""The client's errors: one class with the same stable codes as the TypeScript client's
(``TIMEOUT``, ``CONNECTION_CLOSED``, ``NOT_FOUND``, ``UNAVAILABLE``, ``REFUSED``, ...), and a few
subclasses to catch by type."""


class SwitchboardError(Exception):
    """An error with a stable ``code`` and a ``retryable`` flag; ``data`` says more when known."""

    def __init__(self, code: str, message: str, retryable: bool = False, data=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.data = data or {}

    def __str__(self) -> str:
        return "%s: %s" % (self.code, self.message)


class InvalidMessageError(SwitchboardError):
    """A line or message that breaks the protocol's rules (a bad name, a bad quote)."""

    def __init__(self, message: str):
        super().__init__("INVALID_MESSAGE", message)


class RequestTimeoutError(SwitchboardError):
    def __init__(self, message: str, data=None):
        super().__init__("TIMEOUT", message, retryable=True, data=data)


class ConnectionClosedError(SwitchboardError):
    def __init__(self, message: str, code: str = "CONNECTION_CLOSED"):
        super().__init__(code, message, retryable=code != "CONNECTION_CLOSED")
