"""Both SMS drivers on a transport that fails (issue 10): a connection never made sent nothing and is simply
retried; a connection lost after the request went is an unknown outcome, which the caller clears up by asking
the provider before anything is sent again (R-ESC-5)."""

from __future__ import annotations

import socket
import threading

import pytest

from activities.adapters.sms import SmsError
from activities.adapters.sms_aliyun import AliyunSmsGateway
from activities.adapters.sms_tencent import TencentSmsGateway
from tests.activities import test_sms_aliyun as aliyun
from tests.activities import test_sms_tencent as tencent

DRIVERS = [pytest.param(AliyunSmsGateway, aliyun._settings, aliyun._sms, id="aliyun"),
           pytest.param(TencentSmsGateway, tencent._settings, tencent._sms, id="tencent")]


@pytest.mark.parametrize("gateway, settings, sms", DRIVERS)
async def test_nobody_listening_is_a_retryable_sms_error_since_nothing_went_out(gateway, settings, sms):
    """R-ESC-5 under an outage: a refused connection sent nothing, so the message is simply tried again later
    (no fate to clear up, nothing left `unknown` for ops)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(SmsError) as err:
        await gateway(settings(f"127.0.0.1:{port}")).send(sms())
    assert err.value.retryable and err.value.code == "NotConnected"


@pytest.mark.parametrize("gateway, settings, sms", DRIVERS)
async def test_a_connection_dropped_after_the_request_is_an_unknown_outcome_not_an_sms_error(gateway, settings, sms):
    """The request went out and no answer came: the provider may have it, so the caller asks before resending."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def drop_after_reading() -> None:
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    threading.Thread(target=drop_after_reading, daemon=True).start()
    try:
        with pytest.raises((ConnectionError, TimeoutError)) as err:
            await gateway(settings(f"127.0.0.1:{listener.getsockname()[1]}")).send(sms())
        assert not isinstance(err.value, SmsError)
    finally:
        listener.close()
