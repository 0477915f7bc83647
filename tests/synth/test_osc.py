import random
import socket
import struct
import time

import numpy as np
import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.control.addresses import ADDRESSES, InvalidArguments, validate_message
from synth.control.datagram import MalformedDatagram, parse_datagram
from synth.control.listener import OscListener, RateLimitedWarnings, open_socket


def message(address: str, *arguments) -> bytes:
    builder = OscMessageBuilder(address)
    for argument in arguments:
        builder.add_arg(argument)
    return builder.build().dgram


def example_arguments(address) -> list[float]:
    """A valid argument list for any address, built from its spec."""
    groups = max(address.min_groups, 1) if address.max_groups > 1 else 1
    return [f.choices[0] if f.choices else "intro" if f.text else int(f.low) if f.integer
            else (f.low + f.high) / 2 for _ in range(groups) for f in address.fields]


@pytest.mark.parametrize("address", ADDRESSES, ids=lambda a: a.path)
def test_every_address_accepts_its_example_through_real_datagrams(address):
    arguments = example_arguments(address)
    [(path, parsed)] = parse_datagram(message(address.path, *arguments))
    assert path == address.path
    assert len(validate_message(path, parsed)) == len(arguments)


@pytest.mark.parametrize(
    ("path", "arguments", "error"),
    [
        ("/xy", (0.5,), "expected 2 arguments, got 1"),
        ("/xy", (0.5, "up"), "argument 2 (y) must be a number, got str"),
        ("/xy", (0.5, float("nan")), "argument 2 (y) is not finite"),
        ("/xy", (0.5, float("inf")), "is not finite"),
        ("/xy", (1.5, 0.5), "argument 1 (x) = 1.5 is outside 0..1"),
        ("/latent", (0.5,) * 15, "expected 16 arguments, got 15"),
        ("/latent/dim", (2.5, 0.5), "must be a whole number"),
        ("/latent/dim", (16, 0.5), "outside 0..15"),
        ("/trajectory/xy", (0.1, 0.2, 0.3), "in groups of 2"),
        ("/trajectory/points", (0.5,) * 16, "expected 32..1024 arguments"),
        ("/grain/density", (True,), "must be a number, got bool"),
        ("/volume", (), "expected 1 arguments, got 0"),
        ("/panic", (1.0,), "expected 0 arguments, got 1"),
        ("/no/such", (1.0,), "unknown address"),
    ],
)
def test_bad_arguments_are_named_precisely(path, arguments, error):
    with pytest.raises(InvalidArguments) as caught:
        validate_message(path, arguments)
    assert error in str(caught.value)


def test_pd_style_float_indices_are_accepted():
    assert validate_message("/latent/dim", (3.0, 0.25)) == (3, 0.25)
    assert validate_message("/trajectory/grains", (64.0,)) == (64,)


def test_truncated_float_is_refused_not_zero_padded():
    datagram = message("/volume", 0.8)
    with pytest.raises(MalformedDatagram, match="cut off"):
        parse_datagram(datagram[:-4])
    with pytest.raises(MalformedDatagram):
        parse_datagram(datagram[:-2])


def test_negative_bundle_element_size_fails_fast():
    builder = OscBundleBuilder(IMMEDIATELY)
    builder.add_content(OscMessageBuilder("/volume").build())
    datagram = bytearray(builder.build().dgram)
    datagram[16:20] = struct.pack(">i", -8)
    started = time.monotonic()
    with pytest.raises(MalformedDatagram, match="does not fit"):
        parse_datagram(bytes(datagram))
    assert time.monotonic() - started < 0.5


def test_bundles_with_future_timetags_apply_now():
    builder = OscBundleBuilder(time.time() + 3600)  # an hour from now
    for value in (0.1, 0.2):
        inner = OscMessageBuilder("/volume")
        inner.add_arg(value)
        builder.add_content(inner.build())
    started = time.monotonic()
    parsed = parse_datagram(builder.build().dgram)
    assert [path for path, _ in parsed] == ["/volume", "/volume"]
    assert [values[0] for _, values in parsed] == pytest.approx([0.1, 0.2])
    assert time.monotonic() - started < 0.5


def test_oversized_and_unsupported_datagrams_are_refused():
    with pytest.raises(MalformedDatagram, match="larger than UDP"):
        parse_datagram(b"/x\x00\x00" + b"\x00" * 70000)
    blob = message("/volume", b"\x01\x02\x03")
    with pytest.raises(InvalidArguments, match="must be a number, got bytes"):
        validate_message(*parse_datagram(blob)[0])
    with pytest.raises(MalformedDatagram, match="unsupported type tag"):
        parse_datagram(b"/volume\x00,[f]\x00\x00\x00\x00\x00\x00\x00\x00")


def test_ten_thousand_random_datagrams_only_ever_raise_malformed():
    rng = random.Random(7)
    valid = message("/latent", *([0.5] * 16))
    for _ in range(10_000):
        kind = rng.random()
        if kind < 0.4:
            datagram = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 96)))
        elif kind < 0.8:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
            datagram = bytes(mutated[: rng.randrange(1, len(mutated) + 1)])
        else:
            datagram = b"#bundle\x00" + bytes(rng.getrandbits(8) for _ in range(rng.randrange(40)))
        try:
            for path, arguments in parse_datagram(datagram):
                try:
                    validate_message(path, arguments)
                except InvalidArguments:
                    pass
        except MalformedDatagram:
            pass


def test_receive_buffer_holds_a_burst_of_5000_messages():
    receiver = open_socket("127.0.0.1", 0)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    datagram = message("/latent", *([0.25] * 16))
    for _ in range(5000):
        sender.sendto(datagram, receiver.getsockname())
    received = 0
    receiver.settimeout(0.5)
    try:
        while True:
            receiver.recvfrom(65536)
            received += 1
    except TimeoutError:
        pass
    sender.close()
    receiver.close()
    assert received == 5000


def test_listener_process_validates_and_coalesces():
    listener = OscListener("127.0.0.1", 0)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", listener.port)
    try:
        for value in np.linspace(0.0, 1.0, 200):
            sender.sendto(message("/volume", float(value)), target)
        sender.sendto(message("/latent/dim", 3, 0.5), target)
        sender.sendto(message("/latent/dim", 4, 0.75), target)
        sender.sendto(message("/volume", "loud"), target)
        sender.sendto(b"\xff" * 13, target)
        sender.sendto(message("/xy", 0.25, 0.75), target)
        seen: list = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and ("/xy", (0.25, 0.75)) not in seen:
            seen.extend((address, values) for address, values, _ in listener.receive(0.1))
        assert ("/xy", (0.25, 0.75)) in seen
        assert ("/latent/dim", (3, 0.5)) in seen and ("/latent/dim", (4, 0.75)) in seen
        volumes = [values[0] for path, values in seen if path == "/volume"]
        assert volumes[-1] == 1.0 and len(volumes) < 200  # the latest wins
        assert all(isinstance(v, float) for v in volumes)
    finally:
        sender.close()
        listener.close()
    assert not listener.alive


def test_port_in_use_is_a_clear_error():
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1:\d+"):
            OscListener("127.0.0.1", holder.getsockname()[1])
    finally:
        holder.close()


def test_warnings_are_rate_limited_per_address(caplog):
    warnings = RateLimitedWarnings(interval=60.0)
    with caplog.at_level("WARNING"):
        for _ in range(100):
            warnings.warn("/xy", "dropped /xy")
        warnings.warn("/volume", "dropped /volume")
    assert [r.getMessage() for r in caplog.records] == ["dropped /xy", "dropped /volume"]


def test_each_address_says_how_it_is_coalesced_and_whether_presets_hold_it():
    from synth.control.addresses import Coalescing
    from synth.control.listener import coalescing_key

    sender = ("127.0.0.1", 5000)
    kinds = {address.path: address.coalescing for address in ADDRESSES}
    assert kinds["/volume"] is Coalescing.LATEST and kinds["/note"] is Coalescing.EVERY_EVENT
    assert coalescing_key("/volume", (0.1,), sender) == coalescing_key("/volume", (0.9,), sender)
    assert coalescing_key("/latent/dim", (3, 0.1), sender) != \
        coalescing_key("/latent/dim", (4, 0.1), sender)
    assert coalescing_key("/note", (60, 100), sender) != coalescing_key("/note", (60, 100), sender)
    assert {a.path for a in ADDRESSES if not a.in_presets} == {
        "/preset/save", "/preset/load", "/state", "/panic", "/midi/learn", "/midi/cc"}


def test_every_address_names_the_controller_method_that_plays_it():
    import dataclasses
    import inspect

    from synth.control.controller import Controller
    from synth.grains.engine import GrainControls

    engine_controls = {field.name for field in dataclasses.fields(GrainControls)}
    for address in ADDRESSES:
        method = getattr(Controller, address.handler, None)
        assert callable(method), f"{address.path}: no Controller.{address.handler}"
        assert list(inspect.signature(method).parameters) == ["self", "address", "values"], \
            address.path
        assert (address.handler == "set_grain_control") == bool(address.control), address.path
        if address.control:
            assert address.control in engine_controls, address.path
