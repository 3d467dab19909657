"""Issue 14 items 6-8 at the unit level: one record is one line, and secrets never reach a log or a record."""

from __future__ import annotations

import io
import logging

from shared import errors, logs
from shared.settlement import describe, run_isolated

SAS = "sv=2024-08-04&ss=b&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&sig=abc%2Bdef%3D"


def logged(*args: object) -> str:
    out = io.StringIO()
    logs.configure(0, stream=out)
    try:
        logging.getLogger("shared.test").warning(*args)
    finally:
        logs.configure(0)
    return out.getvalue()


def test_a_newline_in_an_argument_stays_on_the_one_line_of_its_record():
    text = logged("upload %s done", "evil\n2026-01-01 00:00:00,000 ERROR forged\r\x1b[2K")
    assert text.count("\n") == 1 and "evil\\n2026" in text and "\\r\\x1b[2K" in text


def test_secrets_are_redacted_wherever_they_appear():
    logs.register_secret("endpoint-key-0123456789")
    samples = [f"GET https://acct.blob.core.windows.net/uploads/a.jpg?{SAS}",
               "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5PT0=;EndpointSuffix=x",
               "Endpoint=sb://x/;SharedAccessKeyName=Root;SharedAccessKey=k3y+/=;",
               "headers: {'Authorization': 'Bearer eyJhbGciOi.payload.sig'}",
               '{"authorization": "endpoint-key-0123456789"}', "echo: endpoint-key-0123456789 end"]
    for sample in samples:
        text = logs.redact(sample)
        for secret in ("abc%2Bdef%3D", "c2VjcmV0a2V5PT0=", "k3y+/=", "eyJhbGciOi", "endpoint-key-0123456789"):
            assert secret not in text, (sample, text)
        assert "REDACTED" in text


def test_a_traceback_is_redacted_and_cannot_pass_for_a_record_of_its_own():
    out = io.StringIO()
    logs.configure(0, stream=out)
    try:
        try:
            raise ValueError(f"bad url ?{SAS}\n2026-01-01 00:00:00,000 ERROR forged")
        except ValueError:
            logging.getLogger("shared.test").exception("failed")
    finally:
        logs.configure(0)
    first, *rest = out.getvalue().splitlines()
    assert "failed" in first and rest and all(line.startswith("  | ") for line in rest)
    assert "abc%2Bdef" not in out.getvalue()


def test_third_party_loggers_stay_at_warning_under_vv_unless_named():
    out = io.StringIO()
    logs.configure(2, stream=out)
    logging.getLogger("urllib3.connectionpool").debug("GET /x?%s", SAS)
    logging.getLogger("shared.runner").debug("ours")
    logs.configure(2, named=["urllib3"], stream=out)
    logging.getLogger("urllib3.connectionpool").debug("GET /x?%s", SAS)
    logs.configure(0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and "ours" in lines[0] and "sig=REDACTED" in lines[1]


def test_error_text_kept_in_records_and_dead_letters_is_redacted():
    assert "abc%2Bdef" not in describe(RuntimeError(f"HTTPSConnectionPool: url: /u/a.jpg?{SAS}"))


def test_a_whole_batch_failure_is_not_retried_item_by_item():
    calls = []

    def handle(batch: list[int]) -> None:
        calls.append(list(batch))
        raise errors.BatchError("endpoint timed out")

    outcome = run_isolated(handle, [1, 2, 3])
    assert calls == [[1, 2, 3]] and [item for item, _ in outcome] == [1, 2, 3]


def test_the_functions_worker_handlers_get_the_filter_once():
    """The Functions worker owns the root handlers; ``install`` (run with the app's first services) makes them safe."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.install()
        logs.install()
        assert sum(isinstance(f, logs.SafeFilter) for f in handler.filters) == 1
        logging.getLogger("shared.azure.handlers").warning("upload %s", "a\nforged ERROR line")
        assert out.getvalue().count("\n") == 1 and logging.getLogger("urllib3").level == logging.WARNING
    finally:
        root.removeHandler(handler)
