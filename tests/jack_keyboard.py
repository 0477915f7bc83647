"""A JACK client that plays MIDI into the synth and listens to what comes back, frame-exact.

Its MIDI out port ``deepnote-keys:keys`` is what the synth's ``--midi-in`` connects to; its
audio in port ``deepnote-keys:ears`` records the synth's output in the same JACK cycles. So
the time from a note-on to the first audible sample is counted in frames of one clock.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from pathlib import Path

import jack
import numpy as np

CLIENT = "deepnote-keys"
KEYS_PORT = f"{CLIENT}:keys"
NOTE_ON, NOTE_OFF = 0x90, 0x80


class JackKeyboard:
    def __init__(self, server_name: str, capture_seconds: float) -> None:
        self.client = jack.Client(CLIENT, servername=server_name, no_start_server=True)
        self.rate = self.client.samplerate
        self.keys = self.client.midi_outports.register("keys")
        self.ears = self.client.inports.register("ears")
        self.capture = np.zeros(int(capture_seconds * self.rate), np.float32)
        self.frame = 0  # frames processed so far (the clock every time here is in)
        self.peak = 0.0  # over everything heard, captured or not
        self.nonfinite = 0
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()
        self._lock = threading.Lock()
        self._closed = False
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        self.keys.clear_buffer()
        start = self.frame
        while self._pending and self._pending[0][0] < start + frames:
            when, data = self._pending.popleft()
            self.keys.write_midi_event(max(0, when - start), data)
        heard = self.ears.get_array()
        finite = np.isfinite(heard)
        if not finite.all():
            self.nonfinite += int(np.sum(~finite))
        self.peak = max(self.peak, float(np.max(np.abs(heard[finite]), initial=0.0)))
        end = min(start + frames, len(self.capture))
        if end > start:
            self.capture[start:end] = heard[: end - start]
        self.frame = start + frames

    def listen_to(self, port: str) -> None:
        self.client.connect(port, self.ears)

    def send(self, data: bytes | list[int], delay_seconds: float = 0.0) -> int:
        """Queue a raw MIDI message ``delay_seconds`` from now; returns its frame."""
        with self._lock:
            when = self.frame + self.client.blocksize + int(delay_seconds * self.rate)
            if self._pending:
                when = max(when, self._pending[-1][0])
            self._pending.append((when, bytes(data)))
        return when

    def chord(self, notes: list[int], velocity: int, delay_seconds: float = 0.0) -> int:
        frames = [self.send([NOTE_ON, note, velocity], delay_seconds) for note in notes]
        return frames[0]

    def release(self, notes: list[int], delay_seconds: float = 0.0) -> int:
        frames = [self.send([NOTE_OFF, note, 0], delay_seconds) for note in notes]
        return frames[0]

    def first_sound_after(self, frame: int, threshold_db: float, within: int) -> int | None:
        """Frames from ``frame`` to the first sample above ``threshold_db``; None if none."""
        window = np.abs(self.capture[frame:frame + within])
        loud = np.flatnonzero(window > 10 ** (threshold_db / 20))
        return int(loud[0]) if len(loud) else None

    def gaps(self, start: int, end: int, min_frames: int) -> int:
        """Runs of at least ``min_frames`` exactly silent samples (|x| < 1e-6) in a span:
        what a ring buffer that ran dry sounds like."""
        quiet = np.abs(self.capture[start:end]) < 1e-6
        edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
        lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        return int(np.sum(lengths >= min_frames))

    def level_db(self, start_seconds: float, end_seconds: float) -> float:
        part = self.capture[int(start_seconds * self.rate):int(end_seconds * self.rate)]
        return float(20 * np.log10(np.sqrt(np.mean(part.astype(np.float64) ** 2)) + 1e-12))

    def close(self) -> None:
        if self.client.status is not None and not self._closed:
            self.client.deactivate()
            self.client.close()
        self._closed = True


@contextlib.contextmanager
def keyboard_and_voice(voice: Path, *extra: str, capture_seconds: float = 30.0):
    """A JACK server, ``deepnote-synth`` playing ``voice`` from this keyboard's MIDI port with
    the granulator muted, and the keyboard listening to it: (server, synth, keyboard, osc)."""
    from pythonosc.udp_client import SimpleUDPClient

    from synth.shipped import DEFAULT_MODEL
    from tests.jack_harness import JackServer, SynthProcess, free_udp_port

    server = JackServer()
    port = free_udp_port()
    synth = SynthProcess(server, DEFAULT_MODEL, port, "--voice", str(voice), "--midi-api",
                         "jack", "--midi-in", KEYS_PORT, *extra)
    keyboard = None
    try:
        keyboard = JackKeyboard(server.name, capture_seconds=capture_seconds)
        synth.wait_for("playing", 120)
        synth.wait_for(f"MIDI input '{KEYS_PORT}' connected", 30)
        keyboard.listen_to("deepnote:output_1")
        osc = SimpleUDPClient("127.0.0.1", port)
        osc.send_message("/volume", 0.0)  # whatever the keyboard hears is the voice
        time.sleep(0.6)
        yield server, synth, keyboard, osc
    finally:
        if keyboard is not None:
            keyboard.close()
        synth.kill()
        server.stop()
