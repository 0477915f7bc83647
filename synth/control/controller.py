"""Validated control messages -> engine parameters and decoding requests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np

from synth.composer.player import ComposeCommand, ComposeKind
from synth.contract.model_file import GrainModelInfo, ModelFileError, VoiceModelInfo
from synth.control.addresses import (
    ADDRESS_BY_PATH,
    GRAIN_CONTROLS,
    TIMBRE_MEANINGS,
    Address,
)
from synth.control.midi_map import Binding, MidiMap, scaled_message
from synth.control.model_shelf import ModelShelf
from synth.control.presets import PresetError, PresetStore
from synth.grains.engine import GrainEngine
from synth.grains.latent_space import LatentSpace, line_path, smooth_path
from synth.grains.tables import point_cloud
from synth.voice.notes import NoteEvent, NoteKind

log = logging.getLogger("deepnote.controls")

DEFAULT_PATH_GRAINS = 64
DEFAULT_VOICE_VOLUME = 0.7
StateReplier = Callable[[tuple[str, int]], None]  # sends /state to a destination


class VoiceSink(Protocol):
    def send(self, event: NoteEvent | ComposeCommand) -> None: ...

    def set_volume(self, gain: float) -> None: ...


class Controller:
    """Holds the performer's latent state and turns messages into sound changes."""

    def __init__(self, engine: GrainEngine, space: LatentSpace,
                 submit: Callable[[np.ndarray], int], seed: int = 0,
                 presets: PresetStore | None = None, voice: VoiceSink | None = None,
                 models: ModelShelf | None = None) -> None:
        self.engine = engine
        self.space = space
        self._submit = submit
        self._rng = np.random.default_rng(seed)
        self.point = space.from_quantiles(np.full(space.dim, 0.5))  # the latest point set
        self.xy = (0.5, 0.5)  # the latest /xy, which a MIDI knob on one axis keeps the other of
        self.midi_map = MidiMap()
        self.models = models
        self.switching_to: GrainModelInfo | None = None  # asked of the decoder, not yet loaded
        self.voice_switching_to: VoiceModelInfo | None = None  # asked of the voice worker
        self.timbre = {name: 0.0 for name, _ in TIMBRE_MEANINGS}  # /timbre/NAME sliders
        self.path_grains = DEFAULT_PATH_GRAINS
        self._path_source: Callable[[int], np.ndarray] | None = None
        self.mode = "point"
        # The message that set the current sound source, replayed by presets.
        self.source: tuple[str, tuple] = ("/latent", (0.5,) * space.dim)
        self.presets = presets
        self.voice = voice
        self.voice_volume = DEFAULT_VOICE_VOLUME
        self.state_replier: StateReplier | None = None
        self.sender: tuple[str, int] | None = None  # where the message being played came from

    def play_typical(self) -> None:
        """What plays before any control arrives: the median latent point."""
        self._play_point(self.point)

    def apply(self, path: str, values: tuple, sender: tuple[str, int] | None = None) -> None:
        """Play one validated message; the address table names the method that does."""
        address = ADDRESS_BY_PATH[path]
        if address.sets_source:
            self.source = (path, values)
        self.sender = sender
        handler: Callable[[Address, tuple], None] = getattr(self, address.handler)
        handler(address, values)

    def play_quantiles(self, address: Address, values: tuple) -> None:
        self._play_point(self.space.from_quantiles(np.asarray(values, dtype=np.float64)))

    def play_raw(self, address: Address, values: tuple) -> None:
        self._play_point(np.asarray(values, dtype=np.float64))

    def move_dimension(self, address: Address, values: tuple) -> None:
        # one dimension of the point playing, whatever set it (/xy, /latent/z, a preset)
        moved = self.space.with_quantile(self.point, int(values[0]), float(values[1]))
        self.source = ("/latent/z", tuple(float(z) for z in moved))
        self._play_point(moved)

    def play_xy(self, address: Address, values: tuple) -> None:
        self.xy = (float(values[0]), float(values[1]))
        self._play_point(self.space.from_xy(np.asarray(values)))

    def play_line(self, address: Address, values: tuple) -> None:
        end = np.asarray(values, dtype=np.float64)
        self._play_path(lambda count: line_path(end, count))

    def play_points_path(self, address: Address, values: tuple) -> None:
        points = self.space.from_quantiles(np.reshape(values, (-1, self.space.dim)))
        self._play_path(lambda count: smooth_path(points, count))

    def play_xy_path(self, address: Address, values: tuple) -> None:
        points = self.space.from_xy(np.reshape(values, (-1, 2)))
        self._play_path(lambda count: smooth_path(points, count))

    def set_path_grains(self, address: Address, values: tuple) -> None:
        self.path_grains = int(values[0])
        if self._path_source is not None:
            self._play_path(self._path_source)

    def set_timbre(self, address: Address, values: tuple) -> None:
        self.timbre[address.path.removeprefix("/timbre/")] = float(values[0])
        if not self.space.timbre_axes:
            log.debug("this model file has no timbre axes; %s does nothing", address.path)
            return
        if self.mode == "path" and self._path_source is not None:
            self._play_path(self._path_source)
        else:
            self._play_point(self.point)

    def set_grain_control(self, address: Address, values: tuple) -> None:
        self.engine.set_control(address.control, values[0])

    def panic(self, address: Address, values: tuple) -> None:
        self.engine.silence()
        self._to_voice(NoteEvent(NoteKind.SILENCE))

    def play_note(self, address: Address, values: tuple) -> None:
        kind = NoteKind.ON if values[1] > 0 else NoteKind.OFF
        self._to_voice(NoteEvent(kind, int(values[0]), int(values[1])))

    def sustain(self, address: Address, values: tuple) -> None:
        self._to_voice(NoteEvent(NoteKind.SUSTAIN, value=127 * int(values[0])))

    def release_all_notes(self, address: Address, values: tuple) -> None:
        self._to_voice(NoteEvent(NoteKind.ALL_OFF))

    def set_voice_volume(self, address: Address, values: tuple) -> None:
        self.voice_volume = float(values[0])
        if self.voice is not None:
            self.voice.set_volume(self.voice_volume)

    def compose_play(self, address: Address, values: tuple) -> None:
        self._to_voice(ComposeCommand(ComposeKind.PLAY, float(values[0]) if values else 0.0))

    def compose_stop(self, address: Address, values: tuple) -> None:
        self._to_voice(ComposeCommand(ComposeKind.STOP))

    def compose_setting(self, address: Address, values: tuple) -> None:
        kind = ComposeKind(address.path.removeprefix("/compose/"))
        self._to_voice(ComposeCommand(kind, float(values[0])))

    def midi_learn(self, address: Address, values: tuple) -> None:
        index = int(values[1]) if len(values) > 1 else 0
        self.midi_map.learn(str(values[0]), index)
        log.info("MIDI learn: move a controller to bind it to %s", values[0])

    def midi_bind(self, address: Address, values: tuple) -> None:
        index = int(values[3]) if len(values) > 3 else 0
        self.midi_map.bind(Binding(int(values[0]), int(values[1]), str(values[2]), index))

    def midi_forget(self, address: Address, values: tuple) -> None:
        dropped = self.midi_map.forget(str(values[0]) if values else None)
        log.debug("MIDI: %d binding(s) forgotten", dropped)

    def midi_control_change(self, address: Address, values: tuple) -> None:
        self.control_change(int(values[2]) if len(values) > 2 else 1, int(values[0]),
                            int(values[1]))

    def control_change(self, channel: int, control: int, value: int) -> None:
        """A MIDI CC (channel 1..16) from a controller: what its bindings move, played like
        the OSC message each stands for (so it is smoothed and validated the same way)."""
        for binding, fraction in self.midi_map.control_change(channel, control, value):
            path, values = scaled_message(binding, fraction, self.xy)
            self.apply(path, ADDRESS_BY_PATH[path].validate(values), self.sender)

    def switch_grains_model(self, address: Address, values: tuple) -> None:
        if self.models is None:
            log.warning("no models folder here: /model/grains has nothing to choose from")
            return
        name = str(values[0])
        if name == self.models.playing_name and self.switching_to is None:
            return
        try:
            model = self.models.grains(name)
        except ModelFileError as error:
            log.warning("model refused: %s; %s keeps playing", error, self.models.playing_name)
            return
        self.switching_to = model
        self.models.load(model)

    def grains_model_loaded(self, path: str, error: str | None) -> None:
        """The decoder's answer to a switch: on success, the new space plays what was
        playing (the message that set it, read in the new model's terms)."""
        model, self.switching_to = self.switching_to, None
        if self.models is None or model is None or model.source != path:
            return
        if error is not None:
            log.warning("model refused by the decoder: %s; %s keeps playing", error,
                        self.models.playing_name)
            return
        self.models.now_playing(model)
        self.space = LatentSpace(model)
        log.info("grains model %s playing", self.models.playing_name)
        self.apply(*self.source)

    def switch_voice_model(self, address: Address, values: tuple) -> None:
        if self.models is None:
            log.warning("no models folder here: /model/voice has nothing to choose from")
            return
        name = str(values[0])
        if name == self.models.voice_name and self.voice_switching_to is None:
            return
        try:
            model = self.models.voice_model(name)
        except ModelFileError as error:
            log.warning("voice model refused: %s; %s keeps playing", error,
                        self.models.voice_name or "no voice")
            return
        self.voice_switching_to = model
        self.models.load_voice(model)

    def voice_model_loaded(self, path: str, error: str | None) -> None:
        """The voice worker's answer: it switched (at a silence), or refused the file."""
        model, self.voice_switching_to = self.voice_switching_to, None
        if self.models is not None and model is not None and model.source == path \
                and error is None:
            self.models.voice_now_playing(model)

    def save_preset(self, address: Address, values: tuple) -> None:
        self._save_preset(str(values[0]))

    def recall_preset(self, address: Address, values: tuple) -> None:
        self.load_preset(str(values[0]))

    def reply_state(self, address: Address, values: tuple) -> None:
        """To the sender's own port, unless the request named a reply port."""
        if self.state_replier is None or self.sender is None:
            log.debug("/state has no one to answer here")
            return
        self.state_replier((self.sender[0], int(values[0])) if values else self.sender)

    def _to_voice(self, event: NoteEvent | ComposeCommand) -> None:
        if self.voice is not None:
            self.voice.send(event)
        elif event.kind != NoteKind.SILENCE:
            log.debug("no voice loaded; %s ignored", event.kind)

    def snapshot(self) -> list[tuple[str, tuple]]:
        """The whole control state as the messages that would recreate it."""
        controls = self.engine.controls
        model = [("/model/grains", (self.models.playing_name,))] if self.models else []
        if self.models is not None and self.models.voice_name is not None:
            model.append(("/model/voice", (self.models.voice_name,)))
        return [
            *model,
            ("/trajectory/grains", (self.path_grains,)),
            self.source,
            *[(address.path, (getattr(controls, address.control),)) for address in GRAIN_CONTROLS],
            *[(f"/timbre/{name}", (value,)) for name, value in self.timbre.items()],
            ("/voice/volume", (self.voice_volume,)),
        ]

    def preset_messages(self) -> list[tuple[str, tuple]]:
        """What a preset keeps: the control state, then the MIDI map."""
        return [*self.snapshot(), *self.midi_map.messages()]

    def load_preset(self, name: str) -> bool:
        """Apply a stored preset; a bad one is refused with one line and changes nothing."""
        if self.presets is None:
            log.warning("presets are not available here")
            return False
        try:
            messages = self.presets.load(name)
        except PresetError as error:
            log.warning("preset refused: %s", error)
            return False
        for address, values in messages:
            self.apply(address, values)
        log.info("loaded preset %s", name)
        return True

    def _save_preset(self, name: str) -> None:
        if self.presets is None:
            log.warning("presets are not available here")
            return
        try:
            path = self.presets.save(name, self.preset_messages())
        except PresetError as error:
            log.warning("%s", error)
            return
        log.info("saved preset %s to %s", name, path)

    def _play_point(self, center: np.ndarray) -> None:
        self.mode = "point"
        self.point = center
        moved = center + self.space.timbre_offset(self.timbre)
        self._submit(point_cloud(moved, self.space.std, self._rng))

    def _play_path(self, source: Callable[[int], np.ndarray]) -> None:
        self.mode = "path"
        self._path_source = source
        self._submit(source(self.path_grains) + self.space.timbre_offset(self.timbre))
