"""The audio process's side of the voice: the ring read by pyo, and the worker's lifecycle.

pyo reads the shared ring with a phasor at the model's rate (cubic interpolation up to the
server's rate, then a low-pass against the images). The control loop publishes how far the
phasor has read; the worker, which owns the model and the MIDI keyboard, keeps the ring
filled just ahead of that. A worker that dies is restarted; the notes it was playing end
with it (no stuck notes) and the ring is silenced so nothing old replays.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
from collections.abc import Callable

from synth.composer.player import ComposeCommand
from synth.contract.model_file import VoiceModelInfo
from synth.control.controller import DEFAULT_VOICE_VOLUME
from synth.grains.engine import SMOOTHING_SECONDS, pyo
from synth.voice.notes import NoteEvent
from synth.voice.ring import LATE_SAMPLES, UNDERRUNS, VoiceRing, ring_size
from synth.voice.switching import SwitchVoice, VoiceSwitched
from synth.voice.worker import VoiceOptions, VoiceWorkerSettings, voice_worker_main
from synth.workers import WorkerProcess

log = logging.getLogger("deepnote.voice")

STARTUP_TIMEOUT = 120.0
UNDERRUN_REPORT_SECONDS = 5.0


class VoicePlayer:
    def __init__(self, options: VoiceOptions, model: VoiceModelInfo, server_rate: int,
                 jack_clock_name: str | None = None) -> None:
        """``jack_clock_name``: under JACK, the name of the worker's JACK client that reads
        the cycle clock (:class:`synth.voice.read_clock.JackCycleClock`)."""
        self.rate = model.sample_rate
        self.ring = VoiceRing(ring_size(self.rate))
        self._settings = VoiceWorkerSettings(
            options=options, ring_name=self.ring.ring_name, clock_name=self.ring.clock_name,
            ring_size=self.ring.size, horizon_samples=round(options.horizon_ms * self.rate / 1000),
            jack_clock_name=jack_clock_name)
        self._table = pyo.SharedTable(f"/{self.ring.ring_name}", False, self.ring.size)
        self._phasor = pyo.Phasor(freq=self.rate / self.ring.size)
        self._volume = pyo.SigTo(DEFAULT_VOICE_VOLUME, SMOOTHING_SECONDS)
        self._reader = pyo.Pointer2(self._table, self._phasor, interp=4, autosmooth=False)
        self.output = pyo.ButLP(self._reader, freq=0.45 * min(self.rate, server_rate),
                                mul=self._volume)
        self._laps = 0
        self._last_phase = 0.0
        self._reported_underruns, self._last_underrun_report = 0, 0.0
        self._worker = WorkerProcess(
            target=voice_worker_main, args=(self._settings,),
            channels=("commands", "results"), name="deepnote-voice",
            description=f"{options.model_path}: the voice worker")

    @property
    def worker_pid(self) -> int | None:
        return self._worker.pid

    @property
    def underruns(self) -> int:
        return int(self.ring.clock[UNDERRUNS])

    @property
    def late_ms(self) -> float:
        """How late the voice was, in all, when it fell behind pyo's read head."""
        return 1000 * float(self.ring.clock[LATE_SAMPLES]) / self.rate

    @property
    def restarts(self) -> int:
        return self._worker.restarts

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT,
                   cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Block until the worker has loaded the voice (True) or ``cancelled()`` (False);
        ModelFileError if it could not."""
        return self._worker.wait_ready(timeout, cancelled) is not None

    def send(self, event: NoteEvent | ComposeCommand) -> None:
        self._worker.channels["commands"].put(event)

    def switch(self, model_path: str) -> None:
        """Play another voice model from the next silence on; the worker answers through
        :meth:`switch_answers`."""
        self._worker.channels["commands"].put(SwitchVoice(model_path))

    def switch_answers(self) -> list[VoiceSwitched]:
        """The worker's answers to :meth:`switch` since the last call; a restart brings the
        voice back with the model that was playing last."""
        answers: list[VoiceSwitched] = []
        while True:
            try:
                message = self._worker.channels["results"].get_nowait()
            except (queue.Empty, OSError, ValueError):
                return answers
            if isinstance(message, VoiceSwitched):
                answers.append(message)
                if message.error is None:
                    options = dataclasses.replace(self._settings.options,
                                                  model_path=message.path)
                    self._settings = dataclasses.replace(self._settings, options=options)
                    self._worker.retarget((self._settings,))

    def set_volume(self, gain: float) -> None:
        self._volume.setValue(gain)

    def publish_read_position(self) -> None:
        """Tell the worker how far pyo has read (call more often than once a lap)."""
        phase = float(self._phasor.get())
        if phase < self._last_phase:
            self._laps += 1
        self._last_phase = phase
        self.ring.publish_read((self._laps + phase) * self.ring.size)

    def report_underruns(self, now: float) -> None:
        """Say so when the voice fell behind pyo's read head since the last report (at most
        once every UNDERRUN_REPORT_SECONDS): the count is also in /state."""
        underruns = self.underruns
        if underruns > self._reported_underruns and (
                now - self._last_underrun_report >= UNDERRUN_REPORT_SECONDS):
            log.warning("voice: %d underrun(s) in the last %.0f s (%d since start); the "
                        "voice worker is short of CPU", underruns - self._reported_underruns,
                        min(now - self._last_underrun_report, 999), underruns)
            self._reported_underruns, self._last_underrun_report = underruns, now

    def ensure_alive(self) -> bool:
        """Restart a dead worker; returns True if it did."""
        if not self._worker.restart_if_dead("the notes it was playing are dropped"):
            return False
        self.ring.samples[:] = 0.0
        return True

    def close(self) -> None:
        self._worker.close()
        log.info("voice: %d underruns (%.1f ms late in all)", self.underruns, self.late_ms)
        del self._reader, self._table
        self.ring.close()
