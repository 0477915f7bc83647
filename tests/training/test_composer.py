"""The LSTM composer: piano rolls, focal loss, a tiny training run on real Bach chorales
(music21's corpus), export, deepnote-compose, and the live player's timing."""

import subprocess
import sys

import mido
import numpy as np
import pytest
import torch

from synth.composer.model import load_composer
from synth.composer.piano_roll import (
    HELD,
    ONSET,
    SILENT,
    RollError,
    RollRange,
    keep_top_lines,
    notes_from_roll,
    roll_from_midi,
    write_roll_midi,
)
from synth.composer.player import ComposeCommand, ComposeKind, ComposerPlayer, octave_shift
from synth.contract.model_file import read_metadata
from tests.jack_harness import REPO
from training.composer.dataset import build_composer_dataset
from training.composer.model import focal_loss
from training.core.checkpoint import load_checkpoint
from training.grains.dataset import DatasetError


def _midi(path, notes, ticks_per_beat=480):
    """notes: (pitch, start beat, length in beats) on one track."""
    events = []
    for pitch, start, length in notes:
        events.append((round(start * ticks_per_beat), 1, pitch))
        events.append((round((start + length) * ticks_per_beat), 0, pitch))
    track = mido.MidiTrack()
    now = 0
    for tick, on, pitch in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(mido.Message("note_on" if on else "note_off", note=pitch,
                                  velocity=80 if on else 0, time=tick - now))
        now = tick
    midi = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    midi.save(str(path))


def test_midi_becomes_a_roll_of_starts_and_held_steps(tmp_path):
    _midi(tmp_path / "a.mid", [(60, 0, 1), (64, 0.5, 0.25), (60, 1, 0.5), (20, 2, 0.25)])
    roll = roll_from_midi(tmp_path / "a.mid", RollRange(lowest=36, pitches=48))
    assert roll.shape == (9, 48)
    assert list(roll[:, 60 - 36]) == [ONSET, HELD, HELD, HELD, ONSET, HELD, 0, 0, 0]
    assert list(roll[:, 64 - 36]) == [0, 0, ONSET, 0, 0, 0, 0, 0, 0]
    assert roll[8, 44 - 36] == ONSET, "MIDI 20 is folded up by octaves into the range"
    assert notes_from_roll(roll, 36) == [(60, 0, 4), (64, 2, 3), (60, 4, 6), (44, 8, 9)]


def test_roll_survives_a_midi_round_trip(tmp_path):
    roll_range = RollRange()
    rng = np.random.default_rng(0)
    roll = np.zeros((32, 48), np.int8)
    for _ in range(12):
        column, start, length = rng.integers(0, 48), rng.integers(0, 28), rng.integers(1, 4)
        if not roll[start:start + length, column].any():
            roll[start, column] = ONSET
            roll[start + 1:start + length, column] = HELD
    write_roll_midi(roll, tmp_path / "r.mid", roll_range, tempo_bpm=120)
    back = roll_from_midi(tmp_path / "r.mid", roll_range)
    np.testing.assert_array_equal(back, roll[:len(back)])
    assert not roll[len(back):].any()
    assert mido.MidiFile(str(tmp_path / "r.mid")).length == pytest.approx(len(back) / 8)


def test_unusable_midi_is_skipped_and_named(tmp_path, caplog):
    _midi(tmp_path / "good.mid", [(60, 0, 1)])
    empty = mido.MidiFile()
    empty.tracks.append(mido.MidiTrack())
    empty.save(str(tmp_path / "empty.mid"))
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00\x00")
    dataset = build_composer_dataset(tmp_path, RollRange())
    assert dataset.names == ["good.mid"]
    assert "has no notes" in dataset.skipped["empty.mid"]
    assert "unreadable MIDI file" in dataset.skipped["broken.mid"]
    assert "broken.mid" in caplog.text
    (tmp_path / "good.mid").unlink()
    with pytest.raises(DatasetError, match="no usable MIDI file"):
        build_composer_dataset(tmp_path, RollRange())
    with pytest.raises(RollError, match="has no notes"):
        roll_from_midi(tmp_path / "empty.mid", RollRange())


def test_keep_top_lines_leaves_the_melody():
    roll = np.zeros((4, 6), np.int8)
    roll[:, 1] = [ONSET, HELD, HELD, HELD]  # a low held note
    roll[:2, 4] = [ONSET, HELD]  # a high one above it, then gone
    melody = keep_top_lines(roll, 1)
    assert list(melody[:, 4]) == [ONSET, HELD, 0, 0]
    assert list(melody[:, 1]) == [0, 0, ONSET, HELD], "the held note starts when on top"


def test_focal_loss_weighs_down_confident_cells():
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.0, 0.2, 0.0]])
    targets = torch.tensor([SILENT, ONSET])
    plain = torch.nn.functional.cross_entropy(logits, targets)
    assert focal_loss(logits, targets, gamma=0.0) == pytest.approx(plain.item())
    per_cell = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
    focal = [focal_loss(logits[i:i + 1], targets[i:i + 1]).item() for i in range(2)]
    assert focal[0] / per_cell[0].item() < 0.01 < focal[1] / per_cell[1].item()


def test_tiny_composer_trains_on_chorales_and_exports(tiny_composer_model):
    assert len(list((tiny_composer_model.parent / "chorales").glob("*.mid"))) == 6
    state = load_checkpoint(tiny_composer_model.parent / "run" / "checkpoint.pt")
    evaluations = state["history"]["eval"]
    assert [row["step"] for row in evaluations] == [15, 30]
    last = evaluations[-1]
    for key in ("held_out_focal_loss", "held_out_bits_per_cell", "held_out_onset_precision",
                "held_out_onset_recall"):
        assert np.isfinite(last[key])
    losses = [row["loss"] for row in state["history"]["train"]]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert (tiny_composer_model.parent / "run" / "previews" / "step000030.mid").is_file()
    metadata = read_metadata(tiny_composer_model)
    assert metadata["kind"] == "composer" and metadata["pitches"] == 48
    assert metadata["held_out_evaluation"]["step"] == 30


def test_deepnote_compose_writes_valid_midi_in_range(tiny_composer_model, tmp_path):
    seed = next(iter(sorted((tiny_composer_model.parent / "chorales").glob("*.mid"))))
    out = tmp_path / "phrase.mid"
    result = subprocess.run(
        [sys.executable, "-m", "synth.compose_cli", "--model",
         str(tiny_composer_model), "--out", str(out), "--bars", "2",
         "--seed-midi", str(seed), "--tempo", "120", "--transpose", "-12", "--seed", "3"],
        capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}")
    midi = mido.MidiFile(str(out))
    ons = [m.note for m in midi.tracks[0] if m.type == "note_on" and m.velocity > 0]
    offs = [m.note for m in midi.tracks[0] if m.type == "note_off"]
    assert ons and sorted(ons) == sorted(offs), "every note ends"
    assert 36 - 12 <= min(ons) and max(ons) < 36 + 48 - 12
    assert midi.length <= 2 * 4 * 0.5 + 1e-6  # 2 bars of 4 beats at 120 bpm

    again = tmp_path / "again.mid"
    subprocess.run([sys.executable, "-m", "synth.compose_cli", "--model",
                    str(tiny_composer_model), "--out", str(again), "--bars", "2",
                    "--seed-midi", str(seed), "--tempo", "120", "--transpose", "-12",
                    "--seed", "3"], check=True, capture_output=True, cwd=REPO, timeout=120)
    assert again.read_bytes() == out.read_bytes(), "same seed, same phrase"


def test_deepnote_compose_usage_errors_are_one_line(tiny_composer_model, tmp_path):
    model = str(tiny_composer_model)
    for arguments, reason in [
        (["--model", str(REPO / "models" / "grains.pt")], "is a grains model, expected a "
                                                           "composer model"),
        (["--model", str(tmp_path / "none.pt")], "no such model file"),
        (["--model", model, "--bars", "0"], "argument --bars: 0 must be more than 0"),
        (["--model", model, "--lines", "0"], "argument --lines: 0 is outside 1..128"),
        (["--model", model, "--seed-midi", str(tmp_path / "x.mid")], "unreadable MIDI file"),
    ]:
        result = subprocess.run([sys.executable, "-m", "synth.compose_cli", "--out",
                                 str(tmp_path / "o.mid"), *arguments],
                                capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == 2, arguments
        assert len(result.stderr.strip().splitlines()) == 1 and reason in result.stderr
        assert not (tmp_path / "o.mid").exists()


def test_live_player_puts_composed_steps_on_the_sample_clock(tiny_composer_model):
    composer = load_composer(tiny_composer_model)
    player = ComposerPlayer(composer, rate=16000, voice_range=(41, 48))
    assert player.transpose == octave_shift(composer.model.top_line_center, (41, 48))
    player.tempo = 120.0  # a sixteenth = 2000 samples
    player.temperature = 2.0  # wild enough that a few steps hold notes
    torch.manual_seed(0)
    assert [e.kind for e in player.handle(ComposeCommand(ComposeKind.PLAY, 1), now=1000)] == [
        "release_composed"]
    assert player.due_events(999) == []
    timeline = []
    for now in range(1000, 1000 + 17 * 2000, 500):
        timeline += [(now, event) for event in player.due_events(now)]
    steps = sorted({now for now, _ in timeline})
    assert all((now - 1000) % 2000 == 0 for now in steps), "events only on step times"
    sounding: set[int] = set()
    for _, event in timeline:
        assert event.composed, "the composer's notes are marked as its own"
        if event.kind == "on":
            sounding.add(event.pitch)
            assert len(sounding) <= 1, "one line: never two notes at once"
        elif event.kind == "off":
            sounding.discard(event.pitch)
        else:
            assert event.kind == "release_composed"
            sounding.clear()
    assert not player.playing and not sounding, "one bar played, then everything released"
    player.handle(ComposeCommand(ComposeKind.LINES, 2), now=0)
    player.handle(ComposeCommand(ComposeKind.PLAY), now=0)
    events = player.due_events(40 * 2000)
    assert player.playing and events
    released = player.handle(ComposeCommand(ComposeKind.STOP), now=40 * 2000)
    assert not player.playing and [e.kind for e in released] == ["release_composed"]
    assert player.due_events(10**9) == []


def test_the_numpy_composer_computes_what_the_exported_module_computes(tiny_composer_model):
    from synth.contract.module_weights import read_module_weights
    from synth.contract.torchscript import load_torchscript

    scripted = load_torchscript(tiny_composer_model)
    carried = read_module_weights(tiny_composer_model)
    assert carried is not None, "an exported composer carries its numpy weights"
    composer = load_composer(tiny_composer_model)
    scripted.reset()
    composer.network.reset()
    steps = np.random.default_rng(0).integers(0, 3, (20, composer.network.pitches))
    for states in steps:  # 20 steps: the metre wraps around a 16-step bar
        expected = scripted.next_logits(torch.from_numpy(states)).detach().numpy()
        np.testing.assert_allclose(composer.network.next_logits(states), expected, atol=1e-4)
    first = composer.compose(steps[:4].astype(np.int8), 16, 1.0, seed=3)
    again = composer.compose(steps[:4].astype(np.int8), 16, 1.0, seed=3)
    np.testing.assert_array_equal(first, again)
    assert not ((first[1:] == HELD) & (first[:-1] == SILENT)).any(), "no hold after silence"
