"""Validated control messages -> engine parameters and decoding requests."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np

from synth.composer.player import ComposeCommand, ComposeKind
from synth.control.presets import PresetError, PresetStore
from synth.grains.engine import GrainEngine
from synth.grains.latent_space import LatentSpace, line_path, smooth_path
from synth.grains.tables import point_cloud
from synth.voice.notes import NoteEvent, NoteKind

log = logging.getLogger("deepnote.controls")

DEFAULT_PATH_GRAINS = 64
DEFAULT_VOICE_VOLUME = 0.7
_GRAIN_CONTROLS = {
    "/grain/pos": "pos",
    "/grain/pitch": "pitch",
    "/grain/dur": "dur",
    "/grain/density": "density",
    "/grain/jitter": "jitter",
    "/volume": "volume",
    "/scan/speed": "scan_speed",
}


_SOURCES = ("/latent", "/latent/z", "/xy", "/trajectory/line", "/trajectory/points",
            "/trajectory/xy")


class VoiceSink(Protocol):
    def send(self, event: NoteEvent | ComposeCommand) -> None: ...

    def set_volume(self, gain: float) -> None: ...

    @property
    def underruns(self) -> int: ...


class Controller:
    """Holds the performer's latent state and turns messages into sound changes."""

    def __init__(self, engine: GrainEngine, space: LatentSpace,
                 submit: Callable[[np.ndarray], int], seed: int = 0,
                 presets: PresetStore | None = None, voice: VoiceSink | None = None) -> None:
        self.engine = engine
        self.space = space
        self._submit = submit
        self._rng = np.random.default_rng(seed)
        self.point = space.from_quantiles(np.full(space.dim, 0.5))  # the latest point played
        self.path_grains = DEFAULT_PATH_GRAINS
        self._path_source: Callable[[int], np.ndarray] | None = None
        self.mode = "point"
        # The message that set the current sound source, replayed by presets.
        self.source: tuple[str, tuple] = ("/latent", (0.5,) * space.dim)
        self.presets = presets
        self.voice = voice
        self.voice_volume = DEFAULT_VOICE_VOLUME

    def play_typical(self) -> None:
        """What plays before any control arrives: the median latent point."""
        self._play_point(self.point)

    def apply(self, address: str, values: tuple) -> None:
        if address in _SOURCES:
            self.source = (address, values)
        if address in _GRAIN_CONTROLS:
            self.engine.set_control(_GRAIN_CONTROLS[address], values[0])
        elif address == "/latent":
            self._play_point(self.space.from_quantiles(np.asarray(values, dtype=np.float64)))
        elif address == "/latent/z":
            self._play_point(np.asarray(values, dtype=np.float64))
        elif address == "/latent/dim":
            # one dimension of the point playing, whatever set it (/xy, /latent/z, a preset)
            moved = self.space.with_quantile(self.point, int(values[0]), float(values[1]))
            self.source = ("/latent/z", tuple(float(z) for z in moved))
            self._play_point(moved)
        elif address == "/xy":
            self._play_point(self.space.from_xy(np.asarray(values)))
        elif address == "/trajectory/line":
            end = np.asarray(values, dtype=np.float64)
            self._play_path(lambda count: line_path(end, count))
        elif address == "/trajectory/points":
            points = self.space.from_quantiles(np.reshape(values, (-1, self.space.dim)))
            self._play_path(lambda count: smooth_path(points, count))
        elif address == "/trajectory/xy":
            points = self.space.from_xy(np.reshape(values, (-1, 2)))
            self._play_path(lambda count: smooth_path(points, count))
        elif address == "/trajectory/grains":
            self.path_grains = int(values[0])
            if self._path_source is not None:
                self._play_path(self._path_source)
        elif address == "/panic":
            self.engine.silence()
            self._to_voice(NoteEvent(NoteKind.SILENCE))
        elif address == "/note":
            kind = NoteKind.ON if values[1] > 0 else NoteKind.OFF
            self._to_voice(NoteEvent(kind, int(values[0]), int(values[1])))
        elif address == "/note/sustain":
            self._to_voice(NoteEvent(NoteKind.SUSTAIN, value=127 * int(values[0])))
        elif address == "/note/all_off":
            self._to_voice(NoteEvent(NoteKind.ALL_OFF))
        elif address == "/voice/volume":
            self.voice_volume = float(values[0])
            if self.voice is not None:
                self.voice.set_volume(self.voice_volume)
        elif address == "/compose/play":
            self._to_voice(ComposeCommand(ComposeKind.PLAY, float(values[0]) if values else 0.0))
        elif address == "/compose/stop":
            self._to_voice(ComposeCommand(ComposeKind.STOP))
        elif address.startswith("/compose/"):
            self._to_voice(ComposeCommand(ComposeKind(address.removeprefix("/compose/")),
                                          float(values[0])))
        elif address == "/preset/save":
            self._save_preset(str(values[0]))
        elif address == "/preset/load":
            self.load_preset(str(values[0]))
        else:
            log.debug("no handler for %s", address)

    def _to_voice(self, event: NoteEvent | ComposeCommand) -> None:
        if self.voice is not None:
            self.voice.send(event)
        elif event.kind != NoteKind.SILENCE:
            log.debug("no voice loaded; %s ignored", event.kind)

    def snapshot(self) -> list[tuple[str, tuple]]:
        """The whole control state as the messages that would recreate it."""
        controls = self.engine.controls
        return [
            ("/trajectory/grains", (self.path_grains,)),
            self.source,
            *[(address, (getattr(controls, name),)) for address, name in _GRAIN_CONTROLS.items()],
            ("/voice/volume", (self.voice_volume,)),
        ]

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
            path = self.presets.save(name, self.snapshot())
        except PresetError as error:
            log.warning("%s", error)
            return
        log.info("saved preset %s to %s", name, path)

    def _play_point(self, center: np.ndarray) -> None:
        self.mode = "point"
        self.point = center
        self._submit(point_cloud(center, self.space.std, self._rng))

    def _play_path(self, source: Callable[[int], np.ndarray]) -> None:
        self.mode = "path"
        self._path_source = source
        self._submit(source(self.path_grains))
