"""``/state``: the current control state, sent back as one bundle of /state/... messages."""

from __future__ import annotations

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.control.controller import Controller


def state_datagram(controller: Controller) -> bytes:
    """``/state/mode point|path``, ``/state<address> values`` for each control, and
    ``/state/voice/underruns N`` when a voice plays."""
    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(_message("/state/mode", (controller.mode,)))
    for address, values in controller.snapshot():
        bundle.add_content(_message("/state" + address, values))
    if controller.voice is not None:
        bundle.add_content(_message("/state/voice/underruns", (controller.voice.underruns,)))
    return bundle.build().dgram


def _message(address: str, values: tuple) -> OscMessage:
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value if isinstance(value, str) else float(value))
    return builder.build()
