"""Logs carry no phone number, whoever logs it (issue 11): the handler `configure_logging` installs masks
them in messages and tracebacks alike, in text and in JSON; uvicorn's access log too (a directory path
holds a phone)."""

import io
import json
import logging

import pytest

from settings import Settings, configure_logging, redact


@pytest.mark.parametrize("text, masked", [
    ("13812345678", "138****5678"),
    ("+8613812345678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("021-62345678", "021****5678"),
    ("DELETE /v1/directory/hq_cs/hq/%2B8613812345678 HTTP/1.1", "DELETE /v1/directory/hq_cs/hq/%2B138****5678 HTTP/1.1"),
    ("电话13812345678已记录", "电话138****5678已记录"),  # Chinese text around it is not a word boundary to skip
])
def test_phone_numbers_are_masked(text, masked):
    assert redact(text) == masked


@pytest.mark.parametrize("text", ["waybill 123456789012", "ticket 94f95954d4fa41e7", "at 2026-11-23 19:04:44,764",
                                  "took 1234567 ns", "correlation_id=eb63b14838884905bec42d31ae878a6f"])
def test_what_is_not_a_phone_is_left_alone(text):
    assert redact(text) == text


@pytest.fixture
def captured():
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def configure(fmt: str) -> io.StringIO:
        configure_logging(Settings(log_format=fmt), "test")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        return stream

    yield configure
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_phone_reaches_a_log_line_in_a_message_or_a_traceback(captured, fmt):
    stream = captured(fmt)
    log = logging.getLogger("parcelcare.test")
    log.warning("callback to %s failed", "13812345678")
    try:
        raise RuntimeError("INSERT failed for +8613912345678")
    except RuntimeError:
        log.exception("record step failed")
    out = stream.getvalue()
    assert "13812345678" not in out and "13912345678" not in out
    assert "138****5678" in out and "139****5678" in out and "RuntimeError" in out
    if fmt == "json":
        assert all(json.loads(line) for line in out.splitlines() if line.startswith("{"))


def test_uvicorns_access_log_is_masked_too(captured):
    captured("text")
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1", "DELETE", "/v1/directory/hq_cs/hq/13812345678", "1.1", 204), None)
    assert all(f.filter(record) for f in access.filters)
    assert "13812345678" not in record.getMessage() and "138****5678" in record.getMessage()
