"""OSCQuery: the address table as JSON over HTTP, read with a real HTTP client."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from pythonosc.udp_client import SimpleUDPClient

from synth.control.addresses import ADDRESSES
from synth.control.oscquery import OscQueryServer, find_node, namespace
from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import JackServer, SynthProcess, free_udp_port, tools_missing


def _get(port: int, target: str) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=5) as reply:
            body = reply.read()
            return reply.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, None


def _check_against_the_table(tree: dict) -> None:
    for address in ADDRESSES:
        node = find_node(tree, address.path)
        assert node is not None, address.path
        assert node["FULL_PATH"] == address.path
        assert node["DESCRIPTION"].startswith(address.effect)
        fields = address.fields * address.min_groups
        assert len(node["TYPE"]) == len(fields) == len(node["RANGE"]), address.path
        for tag, bounds, field in zip(node["TYPE"], node["RANGE"], fields, strict=True):
            assert tag == ("s" if field.text else "i" if field.integer else "f")
            if not field.text:
                assert (bounds["MIN"], bounds["MAX"]) == (field.low, field.high)
        if any(field.unit for field in fields):
            assert node["UNIT"] == [field.unit for field in fields]
    assert find_node(tree, "/grain")["ACCESS"] == 0, "a container, not a method"


def test_the_namespace_is_the_address_table_with_current_values():
    tree = namespace({"/volume": (0.25,), "/xy": (0.1, 0.9)})
    _check_against_the_table(tree)
    assert find_node(tree, "/volume")["VALUE"] == [0.25]
    assert find_node(tree, "/xy")["ACCESS"] == 3
    assert "VALUE" not in find_node(tree, "/panic") and find_node(tree, "/panic")["ACCESS"] == 2
    assert find_node(tree, "/nowhere") is None


def test_the_server_answers_nodes_attributes_and_host_info():
    server = OscQueryServer("127.0.0.1", 0, osc_port=9123)
    try:
        status, info = _get(server.port, "/?HOST_INFO")
        assert status == 200 and info["OSC_PORT"] == 9123 and info["OSC_TRANSPORT"] == "UDP"
        server.publish({"/grain/dur": (0.08,)})
        assert _get(server.port, "/grain/dur?VALUE") == (200, {"VALUE": [0.08]})
        assert _get(server.port, "/grain/dur?UNIT") == (200, {"UNIT": ["s"]})
        assert _get(server.port, "/panic?VALUE") == (204, None)
        assert _get(server.port, "/grain/nothing")[0] == 404
        assert _get(server.port, "/grain/dur?BOGUS")[0] == 400
    finally:
        server.close()


@pytest.mark.skipif(bool(tools_missing()), reason="JACK tools missing")
def test_a_host_discovers_the_live_synth_and_reads_what_it_plays():
    server = JackServer()
    port = free_udp_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        http_port = probe.getsockname()[1]
    synth = SynthProcess(server, DEFAULT_MODEL, port, "--oscquery-port", str(http_port))
    try:
        synth.wait_for("playing", 120)
        synth.wait_for(f"OSCQuery on http://127.0.0.1:{http_port}/", 10)
        status, tree = _get(http_port, "/")
        assert status == 200
        _check_against_the_table(tree)
        assert _get(http_port, "/?HOST_INFO")[1]["OSC_PORT"] == port
        SimpleUDPClient("127.0.0.1", port).send_message("/grain/dur", 0.123)
        deadline = time.monotonic() + 5
        value = None
        while time.monotonic() < deadline:
            value = _get(http_port, "/grain/dur?VALUE")[1]
            if value == {"VALUE": [pytest.approx(0.123)]}:
                break
            time.sleep(0.05)
        assert value == {"VALUE": [pytest.approx(0.123)]}
    finally:
        synth.kill()
        server.stop()
