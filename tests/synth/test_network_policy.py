import socket
import subprocess
import sys
import time

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.control.listener import OscListener
from synth.control.network_policy import (
    PolicyError,
    SenderPolicy,
    check_listening_address,
    parse_allowed,
)
from tests.jack_harness import REPO


def test_loopback_is_always_allowed_and_others_only_when_named():
    policy = SenderPolicy(parse_allowed(["192.168.1.0/24", "10.0.0.7"]))
    assert policy.permits("127.0.0.1") and policy.permits("::1")
    assert policy.permits("192.168.1.200") and policy.permits("10.0.0.7")
    assert policy.permits("::ffff:192.168.1.9")
    assert not policy.permits("10.0.0.8") and not policy.permits("192.168.2.1")
    assert not policy.permits("not an address")


def test_exposing_the_port_needs_an_allow_list():
    check_listening_address("127.0.0.1", ())
    check_listening_address("0.0.0.0", ("192.168.1.0/24",))
    with pytest.raises(PolicyError, match="exposes the synth to the network"):
        check_listening_address("0.0.0.0", ())
    with pytest.raises(PolicyError, match="not an address or network"):
        parse_allowed(["stage-laptop"])


def test_a_host_name_is_looked_up_and_bound_by_its_address():
    assert check_listening_address("localhost", ()) in ("127.0.0.1", "::1")
    assert check_listening_address("127.0.0.1", ()) == "127.0.0.1"
    with pytest.raises(PolicyError, match="neither an IP address nor a name this machine knows"):
        check_listening_address("no-such-host.invalid", ())


def test_cli_refuses_an_open_port_without_allow(tmp_path):
    result = subprocess.run([sys.executable, "-m", "synth", "--audio", "jack", "--osc-host",
                             "0.0.0.0"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 2
    assert "--allow" in result.stderr and "Traceback" not in result.stderr


def _volume(value: float) -> bytes:
    builder = OscMessageBuilder("/volume")
    builder.add_arg(value)
    return builder.build().dgram


def test_datagrams_from_senders_outside_the_list_are_dropped():
    listener = OscListener("0.0.0.0", 0, allowed=("127.0.0.3",))
    refused = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    refused.bind(("127.0.0.2", 0))
    allowed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    allowed.bind(("127.0.0.3", 0))
    try:
        refused.sendto(_volume(0.1), ("127.0.0.1", listener.port))
        time.sleep(0.2)
        allowed.sendto(_volume(0.9), ("127.0.0.1", listener.port))
        received: list = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not received:
            received.extend(listener.receive(0.1))
    finally:
        refused.close()
        allowed.close()
        listener.close()
    assert [(address, values) for address, values, _ in received] == [
        ("/volume", pytest.approx((0.9,)))]
    assert received[0][2][0] == "127.0.0.3"
