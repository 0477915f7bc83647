"""Another voice model, loaded while the playing one goes on and switched to between notes.

The voice worker loads the new file on a thread (seconds of torch work that would otherwise
stop the voice) and hands it over when no note is sounding, so no note changes its voice
halfway. The new model must play at the same sample rate: the ring pyo reads, and the lead
and horizon in samples, are built for it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synth.voice.notes import BendSettings

if TYPE_CHECKING:
    from synth.voice.mixer import VoiceMixer

log = logging.getLogger("deepnote.voice")


@dataclass(frozen=True)
class SwitchVoice:
    """A command to the voice worker: play this model file from the next silence on."""

    path: str


@dataclass(frozen=True)
class VoiceSwitched:
    """The worker's answer: the model now playing, or why it was refused (the old one
    plays on)."""

    path: str
    error: str | None = None


class VoiceLoader:
    """Loads one model at a time on a thread; a newer request replaces a waiting one."""

    def __init__(self, rate: int, seed: int, bend: BendSettings) -> None:
        self.rate, self.seed, self.bend = rate, seed, bend
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wanted: str | None = None
        self._done: tuple[str, VoiceMixer | None, str | None] | None = None

    def request(self, path: str) -> None:
        with self._lock:
            self._wanted, self._done = path, None
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._load_wanted, daemon=True,
                                                name="deepnote-voice-loader")
                self._thread.start()

    def finished(self) -> tuple[str, VoiceMixer | None, str | None] | None:
        """(path, mixer, None) once loaded, (path, None, reason) if refused; else None."""
        with self._lock:
            done, self._done = self._done, None
            return done

    def _load_wanted(self) -> None:
        while True:
            with self._lock:
                path, self._wanted = self._wanted, None
            if path is None:
                return
            result = self._load(path)
            with self._lock:
                if self._wanted is None:  # nothing newer was asked for meanwhile
                    self._done = result

    def _load(self, path: str) -> tuple[str, VoiceMixer | None, str | None]:
        from synth.contract.model_file import ModelFileError, read_voice_model
        from synth.contract.module_weights import load_module_weights
        from synth.voice.mixer import VoiceMixer

        try:
            model = read_voice_model(path)
            if model.sample_rate != self.rate:
                raise ModelFileError(f"{path}: {model.sample_rate} Hz, but the voice plays at "
                                     f"{self.rate} Hz (start the synth with --voice to play "
                                     "it)")
            mixer = VoiceMixer(load_module_weights(path), model, self.seed, self.bend)
        except ModelFileError as error:
            return path, None, str(error)
        return path, mixer, None
