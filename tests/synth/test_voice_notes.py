import subprocess
import sys

import mido
import numpy as np
import pytest
import soundfile

from synth.voice.mixer import Resampled
from synth.voice.notes import VoiceAllocator
from tests.jack_harness import REPO


def _allocator(voices: int = 2) -> VoiceAllocator:
    return VoiceAllocator(voices=voices, counter_cap=32, frame_size=16)


def test_held_key_keeps_the_counter_at_its_cap_then_counts_down():
    notes = _allocator()
    voice = notes.note_on(41, 127)
    held, resets, active = notes.block(64)
    assert resets == [voice]
    assert np.all(held[voice, :, 2] == 1.0) and np.all(held[voice, :, 1] == 1.0)
    assert np.all(held[voice, :, 0] == (41 - 60) / 12) and active[voice].all()
    notes.note_off(41)
    released, _, active = notes.block(64)
    counter = released[voice, :, 2] * 32
    assert list(counter[:33]) == [*range(32, 0, -1), 0]
    assert active[voice, :32].all() and not active[voice, 32:].any()
    assert not notes.slots[voice].active, "the voice is free again"


def test_sustain_pedal_holds_released_notes_until_lifted():
    notes = _allocator()
    notes.note_on(45, 100)
    notes.set_sustain(True)
    notes.note_off(45)
    sustained, _, _ = notes.block(48)
    assert np.all(sustained[0, :, 2] == 1.0)
    notes.set_sustain(False)
    released, _, _ = notes.block(48)
    assert released[0, 0, 2] == 1.0 and released[0, 32, 2] == 0.0


def test_voices_are_taken_over_oldest_first_beyond_polyphony():
    notes = _allocator(voices=2)
    first = notes.note_on(41, 90)
    notes.block(16)
    second = notes.note_on(43, 90)
    notes.block(16)
    third = notes.note_on(45, 90)
    assert third == first != second and notes.steals == 1
    condition, resets, _ = notes.block(16)
    assert resets == [third] and condition[third, 0, 0] == (45 - 60) / 12


def test_note_off_without_note_on_and_all_notes_off():
    notes = _allocator()
    notes.note_off(60)  # nothing to release: ignored
    notes.note_on(41, 90)
    notes.note_on(43, 90)
    notes.all_notes_off()
    notes.block(40)
    assert not any(slot.active for slot in notes.slots), "no stuck voice"


def test_notes_start_on_frame_boundaries():
    notes = _allocator()
    notes.block(10)  # now = 10, mid-frame
    voice = notes.note_on(41, 90)
    assert notes.slots[voice].started == 16


def test_midi_file_renders_through_the_voice(tiny_voice_model, tmp_path):
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("note_on", note=41, velocity=100, time=480))  # at 0.5 s
    track.append(mido.Message("sysex", data=[1, 2, 3], time=0))
    track.append(mido.Message("note_off", note=50, time=0))  # never played: ignored
    track.append(mido.Message("note_off", note=41, time=480))
    midi.save(str(tmp_path / "song.mid"))
    out = tmp_path / "song.wav"
    result = subprocess.run([sys.executable, "-m", "synth", "--audio", "offline", "--render",
                             str(out), "--midi-file", str(tmp_path / "song.mid"), "--voice",
                             str(tiny_voice_model)], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    audio, rate = soundfile.read(out)
    assert rate == 16000 and np.isfinite(audio).all()
    assert np.abs(audio).max() <= 10 ** (-1 / 20)
    assert np.abs(audio[:rate // 2 - 16]).max() == 0.0, "silent before the note-on"
    assert np.abs(audio[rate // 2:rate]).max() > 0.0, "sound after the note-on"
    assert len(audio) >= 16000 + 8000  # the note, its release and a tail


def test_midi_render_usage_errors(tiny_voice_model, tmp_path):
    for arguments, reason in [
        (["--midi-file", str(tmp_path / "x.mid"), "--no-voice"], "--no-voice cannot be combined"),
        (["--midi-file", str(tmp_path / "x.mid"), "--voice", str(tiny_voice_model)],
         "no such MIDI file"),
    ]:
        result = subprocess.run([sys.executable, "-m", "synth", "--audio", "offline",
                                 "--render", str(tmp_path / "o.wav"), *arguments],
                                capture_output=True, text=True, cwd=REPO, timeout=60)
        assert result.returncode == 2 and reason in result.stderr
        assert "Traceback" not in result.stderr


def test_notes_outside_the_trained_range_are_resampled_from_the_nearest(caplog):
    allocator = VoiceAllocator(voices=2, counter_cap=32, frame_size=16, trained_range=(41, 48))
    with caplog.at_level("DEBUG", logger="deepnote.voice"):
        high = allocator.note_on(60, 100)
        inside = allocator.note_on(45, 100)
    assert allocator.slots[high].model_pitch == 48
    assert allocator.slots[high].rate == pytest.approx(2 ** (12 / 12))
    assert allocator.slots[inside].rate == 1.0
    assert "note 60 is outside the trained range 41..48: playing 48 resampled by +12" \
        in caplog.text
    condition, _, _ = allocator.block(16)
    assert condition[high, 0, 0] == pytest.approx((48 - 60) / 12)


class _SineBank:
    """Stands in for a voice bank: a 200 Hz sine at 16 kHz, continued across calls."""

    def __init__(self) -> None:
        self.count = 0

    def generate(self, condition: np.ndarray) -> np.ndarray:
        steps = condition.shape[1]
        n = self.count + np.arange(steps)
        self.count += steps
        return np.sin(2 * np.pi * 200 * n / 16000)[None].astype(np.float32)


@pytest.mark.parametrize("semitones", [-7, 5, 12])
def test_resampled_voice_is_continuous_and_at_the_asked_pitch(semitones):
    resampled = Resampled(_SineBank(), 2 ** (semitones / 12))  # type: ignore[arg-type]
    condition = np.zeros((32, 3), np.float32)
    out = np.concatenate([resampled.render(condition) for _ in range(500)])  # 1 s
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    peak_hz = np.argmax(spectrum) * 16000 / len(out)
    assert peak_hz == pytest.approx(200 * 2 ** (semitones / 12), abs=1.5)
    assert np.max(np.abs(np.diff(out))) < 2 * np.pi * 200 * 2 ** (semitones / 12) / 16000 * 1.1


def test_midi_file_note_above_the_range_is_played_resampled(tiny_voice_model, tmp_path):
    midi = mido.MidiFile()
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("note_on", note=57, velocity=100, time=0))  # trained: 41..45
    track.append(mido.Message("note_off", note=57, time=480))
    midi.save(str(tmp_path / "high.mid"))
    out = tmp_path / "high.wav"
    result = subprocess.run([sys.executable, "-m", "synth", "--audio", "offline", "--render",
                             str(out), "--midi-file", str(tmp_path / "high.mid"), "--voice",
                             str(tiny_voice_model), "-v"], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "note 57 is outside the trained range 41..45: playing 45 resampled by +12" \
        in result.stderr
    audio, _ = soundfile.read(out)
    assert np.isfinite(audio).all() and np.abs(audio[:8000]).max() > 0.0


def test_skipped_time_still_ends_released_notes_on_time():
    notes = VoiceAllocator(voices=2, counter_cap=1000, frame_size=16)
    held = notes.note_on(41, 100)
    released = notes.note_on(43, 100)
    notes.block(32)
    notes.note_off(43)
    notes.skip(640)  # the writer fell behind and jumped ahead
    assert notes.now == 672 and notes.slots[released].remaining == 1000 - 640
    assert notes.slots[held].remaining == 1000, "a held key keeps its counter at the cap"
    notes.skip(512)
    assert not notes.slots[released].active and notes.slots[held].active
