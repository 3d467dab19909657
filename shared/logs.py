"""Log lines that cannot be forged and do not leak, for the CLI and the Functions app alike.

Blob names, user folders and error bodies are chosen by whoever uploads or
answers: a newline in a blob name must not write a second, made-up line into
the log operators read in App Insights, and an endpoint that echoes its
request must not put the key in a log or a record. So every record that
reaches a handler passes ``SafeFilter``: secrets are redacted (SAS
signatures, account and shared-access keys, bearer tokens, and every secret
value registered here) and control characters are escaped, so one record is
one line (a traceback's lines are indented under it). Call sites still log
untrusted values with ``%r``.

Under ``-vv`` only imgpipe's own loggers go to DEBUG; third-party loggers
(azure, urllib3, msal...) stay at WARNING unless named with ``--debug-log``:
urllib3 at DEBUG prints every request URL, SAS query string included.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import TextIO

OWN_LOGGERS = ("shared", "imgpipe", "functions", "ml")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "REDACTED"
_MIN_SECRET = 8  # shorter values would redact ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()
_PATTERNS = (
    (re.compile(r"(?i)\b(sig|signature)=[^&\s;'\"<>]+"), r"\1=" + REDACTED),
    (re.compile(r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|client_secret)=[^;&\s'\"<>]+"),
     r"\1=" + REDACTED),
    (re.compile(r"(?i)\b(Bearer|Basic|SharedKey)\s+[^\s'\",;}]+"), r"\1 " + REDACTED),
    (re.compile(r"(?i)(\"?\b(?:authorization|api-key|x-api-key|ocp-apim-subscription-key|x-ms-authorization)\b\"?"
                r"\s*[:=]\s*\"?)[^\"\s,}]+"), r"\1" + REDACTED),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def register_secret(value: str | None) -> None:
    """A value that must never be shown (an account key, the endpoint key), wherever it turns up."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def escape(text: str) -> str:
    """Control characters as escapes: what was one line stays one line."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(0), f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 256
                                             else f"\\u{ord(m.group(0)):04x}"), text)


def safe(text: str) -> str:
    """Untrusted text for a log line or a record field: secrets out, one line."""
    return escape(redact(text))


class SafeFilter(logging.Filter):
    """Applied on handlers, so it sees every record, whichever logger (ours or a library's) made it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call elsewhere must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = safe(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _indented(redact(record.exc_text))
        if record.stack_info:
            record.stack_info = _indented(redact(record.stack_info))
        return True


def _indented(block: str) -> str:
    """A traceback's lines under their record, each marked, so none can pass for a record of its own."""
    return "\n".join("  | " + escape(line) for line in block.splitlines())


def configure(verbosity: int, named: Iterable[str] = (), stream: TextIO | None = None) -> None:
    """The CLI's logging: ``-v`` INFO, ``-vv`` DEBUG for imgpipe's loggers and the ``named`` ones; others WARNING."""
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(max(verbosity, 0), 2)]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "imgpipe", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SafeFilter())
    handler.imgpipe = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in (*OWN_LOGGERS, *named):
        logging.getLogger(name).setLevel(level)


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test runner swaps it per command)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def install() -> None:
    """For a host that owns the handlers (the Functions worker): make each of them safe, once."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SafeFilter) for f in handler.filters):
            handler.addFilter(SafeFilter())
    for name in ("azure", "urllib3", "msal"):
        if logging.getLogger(name).level in (logging.NOTSET, logging.DEBUG, logging.INFO):
            logging.getLogger(name).setLevel(logging.WARNING)
