"""``deepnote-eval voice MODEL``: does the voice sound like the instrument it learned?

Every semitone of a range is played three ways in one run, and each is measured the same way
(:mod:`training.voice.listening`):

- **synth**: through the synth's own MIDI render (what a player hears: voice allocation, the
  transposition of notes outside the trained range, the velocity gain), ``takes`` takes a
  note and a seed, played as that many passes up the range;
- **bank**: by the exported bank directly, ``takes`` independent voices a note and a seed;
- **reference**: the same notes rendered by the data's own source (fluidsynth with the
  soundfont and General MIDI program the voice was trained from), so anyone can see what
  "good" reads as on each figure.

Notes fall in three groups: trained, held out (inside the trained span, never heard) and
outside (beyond the trained span). Velocity is checked apart: three velocities on three
notes, several takes and every seed, through the synth, against the reference's levels and
brightness.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import librosa
import mido
import numpy as np
import soundfile

from synth.contract.conditioning import encode_velocity, note_condition
from synth.contract.model_file import VoiceModelInfo, read_voice_model
from synth.contract.module_weights import load_module_weights
from synth.files import atomic_write_text
from synth.voice.midi_render import render_midi
from synth.voicebank.open import open_model_bank
from training.core.plots import plot_voice_report
from training.grains.dataset import DatasetError
from training.voice.dataset import (
    UnusableClip,
    amplitude_envelope,
    find_pairs,
    read_notes,
    sounding_end,
)
from training.voice.listening import (
    decibels,
    envelope_distance_db,
    measure_held_note,
)
from training.voice.note_render import (
    DEFAULT_SOUNDFONT,
    RenderPlan,
    note_file_stem,
    render_note_set,
)

ATTACK_SKIP_SECONDS = 0.15
LEAD_SECONDS = 0.5
TAIL_SECONDS = 1.5
LEVEL_SEGMENT_SECONDS = 0.1
FADE_DB = 12.0  # a held note that loses this much has fallen into its release
VELOCITIES = (40, 80, 120)
PATHS = ("synth", "bank", "reference")
GROUPS = ("trained", "held_out", "outside")

# The bars a shipped voice must meet (issue 15), on trained and held-out notes alike.
PLAYED_BAR = 0.95
MEDIAN_CENTS_BAR = 15.0
HARMONICITY_MARGIN_DB = 10.0  # within this of the reference's median
ENVELOPE_BAR_DB = 4.0


@dataclass(frozen=True)
class Reference:
    """Where the reference notes come from: a soundfont and a General MIDI program, or a
    folder of recordings (WAV + MIDI pairs, such as the voice's own training data)."""

    program: int = 57
    soundfont: Path = DEFAULT_SOUNDFONT
    recordings: Path | None = None


def held_level_drop(held: np.ndarray, rate: int) -> float:
    """dB between the loudest and the quietest 0.1 s of the held part of a take.

    pyin still finds the pitch of a note that has fallen 20 dB into its release, so pitch
    figures alone miss a voice that cannot hold a note.
    """
    width = int(LEVEL_SEGMENT_SECONDS * rate)
    segments = held[:len(held) // width * width].reshape(-1, width)
    if not len(segments):
        return 0.0
    levels = decibels(np.mean(segments.astype(np.float64) ** 2, axis=1))
    return float(levels.max() - levels.min())


def measure_take(take: np.ndarray, pitch: int, rate: int, hold: int,
                 requested_end: int) -> dict[str, Any]:
    """Figures of one take that starts at its note-on: the held part and where it ends."""
    held = take[int(ATTACK_SKIP_SECONDS * rate):hold]
    figures: dict[str, Any] = measure_held_note(held, rate, pitch).as_dict()
    end = sounding_end(amplitude_envelope(take, rate), 0, len(take), rate)
    figures.update(pitch=pitch, held_drop_db=held_level_drop(held, rate),
                   end_error_seconds=(end - requested_end) / rate)
    return figures


def group_of(pitch: int, trained: Sequence[int]) -> str:
    if pitch in trained:
        return "trained"
    return "held_out" if min(trained) < pitch < max(trained) else "outside"


def evaluate_voice(model_path: Path, out_dir: Path, notes: Sequence[int] | None = None,
                   hold_seconds: float = 1.0, seeds: Sequence[int] = (0,), takes: int = 4,
                   velocity: int = 100, reference: Reference | None = Reference()
                   ) -> dict[str, Any]:
    model = read_voice_model(model_path)
    rate, cap = model.sample_rate, model.counter_cap
    trained = sorted(model.trained_notes)
    notes = list(notes) if notes else list(range(trained[0], trained[-1] + 1))
    hold = int(hold_seconds * rate)
    slot = _Slots(rate, hold_seconds)
    out_dir.mkdir(parents=True, exist_ok=True)
    takes_by_path: dict[str, list[dict[str, Any]]] = {path: [] for path in PATHS}
    clips: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        reference_clips = (_reference_takes(reference, notes, (velocity,), slot, work)
                           if reference else {})
        for seed in seeds:
            synth = _synth_takes(model_path, [(p, velocity) for _ in range(takes) for p in notes],
                                 slot, seed, work)
            bank = _bank_takes(model_path, model, notes, velocity, hold, takes, seed)
            for path, played in (("synth", synth), ("bank", bank)):
                for (pitch, take_velocity), take in played:
                    figures = measure_take(take, pitch, rate, hold, hold + cap)
                    figures.update(seed=seed, velocity=take_velocity)
                    ref = reference_clips.get((pitch, take_velocity))
                    if ref is not None:
                        figures["envelope_distance_db"] = envelope_distance_db(
                            _held(take, rate, hold), _held(ref, rate, hold), rate)
                    takes_by_path[path].append(figures)
            clips.setdefault("synth", synth[len(notes) // 2][1])
        for (pitch, take_velocity), ref in sorted(reference_clips.items()):
            takes_by_path["reference"].append({
                **measure_take(ref, pitch, rate, hold, hold), "velocity": take_velocity,
                "envelope_distance_db": 0.0})
        middle = reference_clips.get((notes[len(notes) // 2], velocity))
        if middle is not None:
            clips["reference"] = middle
        velocity_figures = _velocity_check(model_path, trained, slot, seeds, takes, reference,
                                           work)
    for figures in (f for path in PATHS for f in takes_by_path[path]):
        figures["group"] = group_of(figures["pitch"], trained)
    summary = {path: {group: _summary([t for t in takes_by_path[path] if t["group"] == group])
                      for group in GROUPS} for path in PATHS}
    report = {
        "model": str(model_path), "notes": notes, "trained_notes": trained,
        "hold_seconds": hold_seconds, "takes": takes, "seeds": list(seeds),
        "velocity": velocity, "release_seconds": cap / rate,
        "reference": ({"program": reference.program, "soundfont": str(reference.soundfont),
                       "recordings": str(reference.recordings or "")} if reference else None),
        "summary": summary, "velocity_check": velocity_figures,
        "bars": _bars(summary, velocity_figures), "takes_by_path": takes_by_path,
    }
    atomic_write_text(out_dir / "voice_report.json", json.dumps(report, indent=1))
    plot_voice_report(takes_by_path, clips, rate, out_dir / "voice_report.png")
    return report


@dataclass(frozen=True)
class _Slots:
    """Notes played one after another, each in its own slot: lead, hold, release and tail."""

    rate: int
    hold_seconds: float

    @property
    def seconds(self) -> float:
        return LEAD_SECONDS + self.hold_seconds + TAIL_SECONDS

    def take(self, audio: np.ndarray, index: int) -> np.ndarray:
        start = int((index * self.seconds + LEAD_SECONDS) * self.rate)
        length = int((self.hold_seconds + TAIL_SECONDS) * self.rate)
        return np.pad(audio[start:start + length], (0, max(0, start + length - len(audio))))


def _synth_takes(model_path: Path, keys: list[tuple[int, int]], slot: _Slots, seed: int,
                 work: Path) -> list[tuple[tuple[int, int], np.ndarray]]:
    """Each (pitch, velocity) through the synth's MIDI render, one after another."""
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000))
    cursor = 0
    for index, (pitch, velocity) in enumerate(keys):
        on = round((index * slot.seconds + LEAD_SECONDS) * 960)
        off = on + round(slot.hold_seconds * 960)
        track.append(mido.Message("note_on", note=pitch, velocity=velocity, time=on - cursor))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=off - on))
        cursor = off
    midi_path, wav = work / f"keys{seed}.mid", work / f"synth{seed}.wav"
    midi.save(str(midi_path))
    render_midi(model_path, midi_path, wav, seed=seed)
    audio, _ = soundfile.read(str(wav), dtype="float32")
    return [(key, slot.take(audio, index)) for index, key in enumerate(keys)]


def _bank_takes(model_path: Path, model: VoiceModelInfo, notes: list[int], velocity: int,
                hold: int, takes: int, seed: int) -> list[tuple[tuple[int, int], np.ndarray]]:
    """``takes`` independent voices of one batch for every note, told the note directly."""
    rate, cap = model.sample_rate, model.counter_cap
    pitches = [p for p in notes for _ in range(takes)]
    bank = open_model_bank(load_module_weights(model_path), model, len(pitches), seed=seed)
    tail = int(TAIL_SECONDS * rate) - cap
    condition = np.stack([note_condition(p, encode_velocity(velocity), hold, cap, tail)
                          for p in pitches])
    audio = bank.generate(condition)
    return [((p, velocity), audio[i]) for i, p in enumerate(pitches)]


def _reference_takes(reference: Reference, notes: list[int], velocities: Sequence[int],
                     slot: _Slots, work: Path) -> dict[tuple[int, int], np.ndarray]:
    """(pitch, velocity) -> the reference's take of it, from note-on; notes that the
    recordings lack are left out."""
    if reference.recordings is not None:
        return recorded_takes(reference.recordings, notes, velocities, slot)
    plan = RenderPlan(notes=tuple(notes), velocities=tuple(velocities),
                      durations=(slot.hold_seconds,), program=reference.program,
                      sample_rate=slot.rate, file_seconds=slot.seconds,
                      lead_silence=LEAD_SECONDS, soundfont=reference.soundfont)
    folder = work / f"reference{len(velocities)}"
    render_note_set(plan, folder)
    clips = {}
    for pitch in notes:
        for velocity in velocities:
            stem = note_file_stem(plan, pitch, velocity, slot.hold_seconds)
            audio, _ = soundfile.read(str(folder / f"{stem}.wav"), dtype="float32")
            clips[(pitch, velocity)] = slot.take(audio, 0)
    return clips


def recorded_takes(folder: Path, notes: list[int], velocities: Sequence[int],
                   slot: _Slots) -> dict[tuple[int, int], np.ndarray]:
    """For each (pitch, velocity), the recorded note of that pitch with the nearest velocity
    (held at least as long as asked, if one is), cut from its note-on."""
    pairs, _ = find_pairs(folder)
    if not pairs:
        raise DatasetError(f"{folder}: no WAV + MIDI pairs to use as the reference")
    found: dict[int, list[tuple[bool, int, Path, float]]] = {}
    for wav, midi in pairs:
        try:
            recorded = read_notes(midi)
        except UnusableClip:
            continue
        for note in recorded:
            held_enough = note.stop - note.start >= slot.hold_seconds
            found.setdefault(note.pitch, []).append((held_enough, note.velocity, wav,
                                                     note.start))
    takes = {}
    length = int((slot.hold_seconds + TAIL_SECONDS) * slot.rate)
    for pitch in notes:
        for velocity in velocities:
            if pitch not in found:
                continue
            _, _, wav, start = min(found[pitch],
                                   key=lambda c: (not c[0], abs(c[1] - velocity), str(c[2])))
            audio, _ = librosa.load(str(wav), sr=slot.rate, mono=True)
            piece = audio[int(start * slot.rate):][:length]
            takes[(pitch, velocity)] = np.pad(piece, (0, length - len(piece)))
    return takes


def _velocity_check(model_path: Path, trained: list[int], slot: _Slots, seeds: Sequence[int],
                    takes: int, reference: Reference | None, work: Path) -> dict[str, Any]:
    """Level and brightness of three velocities on three trained notes, voice and reference:
    the median over the notes, and for the voice over ``takes`` takes a note and every seed
    (one take of a noisy voice can rank two close velocities either way)."""
    notes = sorted({trained[0], trained[len(trained) // 2], trained[-1]})
    keys = [(p, v) for p in notes for v in VELOCITIES]
    played: dict[str, list[tuple[tuple[int, int], np.ndarray]]] = {"synth": [
        take for seed in seeds
        for take in _synth_takes(model_path, keys * takes, slot, seed, work)]}
    if reference:
        recorded = _reference_takes(reference, notes, VELOCITIES, slot, work)
        if len(recorded) == len(keys):  # recordings may lack some of these notes
            played["reference"] = list(recorded.items())
    hold = int(slot.hold_seconds * slot.rate)
    result: dict[str, Any] = {"notes": notes, "velocities": list(VELOCITIES),
                              "synth_takes_per_velocity": len(notes) * takes * len(seeds)}
    for path, clips in played.items():
        measured = [(velocity, measure_held_note(_held(clip, slot.rate, hold), slot.rate,
                                                 pitch)) for (pitch, velocity), clip in clips]
        result[path] = {
            "level_db": [float(np.median([m.level_db for v, m in measured if v == velocity]))
                         for velocity in VELOCITIES],
            "centroid_hz": [float(np.median([m.centroid_hz for v, m in measured
                                             if v == velocity])) for velocity in VELOCITIES]}
    return result


def _held(take: np.ndarray, rate: int, hold: int) -> np.ndarray:
    return take[int(ATTACK_SKIP_SECONDS * rate):hold]


def _summary(takes: list[dict[str, Any]]) -> dict[str, Any]:
    if not takes:
        return {"takes": 0}
    cents = np.array([abs(t["cents"]) for t in takes])
    envelope = [t["envelope_distance_db"] for t in takes if "envelope_distance_db" in t]
    return {
        "takes": len(takes),
        "played": float(np.mean([t["played"] for t in takes])),
        # a take with no voiced frame has no pitch at all: it counts as the worst error
        "median_abs_cents": float(np.median(np.nan_to_num(cents, nan=np.inf))),
        "unvoiced_takes": float(np.mean(~np.isfinite(cents))),
        "median_voiced_fraction": float(np.median([t["voiced_fraction"] for t in takes])),
        "median_in_tune_fraction": float(np.median([t["in_tune_fraction"] for t in takes])),
        "median_harmonicity_db": float(np.median([t["harmonicity_db"] for t in takes])),
        "median_envelope_distance_db": (float(np.median(envelope)) if envelope
                                        else float("nan")),
        "median_level_db": float(np.median([t["level_db"] for t in takes])),
        "takes_that_fade_while_held": float(np.mean([t["held_drop_db"] > FADE_DB
                                                     for t in takes])),
        "median_end_error_seconds": float(np.median([t["end_error_seconds"] for t in takes])),
    }


def _bars(summary: dict[str, Any], velocity: dict[str, Any]) -> dict[str, Any]:
    """Which of the shipped voice's bars each path meets, on trained and held-out notes."""
    reference_harmonicity = summary["reference"]["trained"].get("median_harmonicity_db")
    bars: dict[str, Any] = {}
    for path in ("synth", "bank"):
        for group in ("trained", "held_out"):
            figures = summary[path][group]
            if not figures.get("takes"):
                continue
            checks = {
                f"played >= {PLAYED_BAR:.0%}": figures["played"] >= PLAYED_BAR,
                f"median error <= {MEDIAN_CENTS_BAR:g} cents":
                    bool(figures["median_abs_cents"] <= MEDIAN_CENTS_BAR),
                f"envelope distance <= {ENVELOPE_BAR_DB:g} dB":
                    bool(figures["median_envelope_distance_db"] <= ENVELOPE_BAR_DB),
            }
            if reference_harmonicity is not None:
                floor = reference_harmonicity - HARMONICITY_MARGIN_DB
                checks[f"harmonicity >= {floor:.1f} dB (reference - 10)"] = bool(
                    figures["median_harmonicity_db"] >= floor)
            bars[f"{path}/{group}"] = checks
    if "reference" in velocity:
        bars["velocity"] = {"levels and brightness in the reference's order": bool(
            _same_order(velocity["synth"]["level_db"], velocity["reference"]["level_db"])
            and _same_order(velocity["synth"]["centroid_hz"],
                            velocity["reference"]["centroid_hz"]))}
    return bars


def _same_order(values: list[float], reference: list[float]) -> bool:
    """Distinct values (1% apart at least) ranked as the reference ranks them."""
    ordered = np.argsort(values).tolist() == np.argsort(reference).tolist()
    spread = np.diff(np.sort(values))
    return bool(ordered and np.all(spread >= 0.01 * np.abs(np.max(values))))


def format_report(report: dict[str, Any]) -> str:
    """The report as a table: voice and reference side by side, then the bars."""
    columns = (("played", "played", "{:.0%}"), ("|cents|", "median_abs_cents", "{:.1f}"),
               ("unvoiced", "unvoiced_takes", "{:.0%}"),
               ("harmonic dB", "median_harmonicity_db", "{:.1f}"),
               ("envelope dB", "median_envelope_distance_db", "{:.1f}"),
               ("level dB", "median_level_db", "{:.1f}"),
               ("fade", "takes_that_fade_while_held", "{:.0%}"),
               ("end s", "median_end_error_seconds", "{:+.2f}"))
    lines = [f"{'':10}{'notes':10}{'takes':>6}" + "".join(f"{name:>13}" for name, _, _ in
                                                         columns)]
    for path in PATHS:
        for group in GROUPS:
            figures = report["summary"][path][group]
            if not figures.get("takes"):
                continue
            cells = "".join(f"{form.format(figures[key]):>13}" for _, key, form in columns)
            lines.append(f"{path:10}{group:10}{figures['takes']:>6}{cells}")
    velocity = report["velocity_check"]
    lines.append(f"velocity {'/'.join(str(v) for v in velocity['velocities'])} on notes "
                 f"{', '.join(str(n) for n in velocity['notes'])} "
                 f"({velocity.get('synth_takes_per_velocity', 3)} voice takes a velocity):")
    for path in ("synth", "reference"):
        if path in velocity:
            levels = " / ".join(f"{v:.1f}" for v in velocity[path]["level_db"])
            centroids = " / ".join(f"{v:.0f}" for v in velocity[path]["centroid_hz"])
            lines.append(f"  {path:10} level {levels} dB, centroid {centroids} Hz")
    lines.append("bars:")
    for scope, checks in report["bars"].items():
        for bar, met in checks.items():
            lines.append(f"  {scope:16} {bar:44} {'met' if met else 'MISSED'}")
    return "\n".join(lines)
