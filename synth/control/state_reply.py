"""``/state``: the current control state, sent back as one bundle of /state/... messages."""

from __future__ import annotations

from collections.abc import Sequence

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from synth.contract.model_file import KIND_GRAINS, KIND_VOICE
from synth.control.controller import Controller


def state_datagram(controller: Controller,
                   health: Sequence[tuple[str, tuple]] = ()) -> bytes:
    """``/state/mode point|path``, ``/state<address> values`` for each control and each MIDI
    binding (``/state/midi/bind channel control address index``), the grains and voice
    models the models folder offers (``/state/models/grains NAME...``, ``.../voice``), and the
    ``health`` figures the caller adds (``/state/voice/underruns N`` and the like)."""
    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(_message("/state/mode", (controller.mode,)))
    for address, values in controller.preset_messages():
        if address != "/midi/forget":  # what a preset says first, not a state
            bundle.add_content(_message("/state" + address, values))
    if controller.models is not None:
        bundle.add_content(_message("/state/models/grains",
                                    tuple(controller.models.available(KIND_GRAINS))))
        if controller.models.voice is not None:
            bundle.add_content(_message("/state/models/voice",
                                        tuple(controller.models.available(KIND_VOICE))))
    for address, values in health:
        bundle.add_content(_message(address, values))
    return bundle.build().dgram


def _message(address: str, values: tuple) -> OscMessage:
    builder = OscMessageBuilder(address)
    for value in values:
        builder.add_arg(value if isinstance(value, str) else float(value))
    return builder.build()
