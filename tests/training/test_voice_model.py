import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile
import torch

from synth.contract.model_file import read_metadata
from synth.contract.torchscript import load_torchscript
from tests.jack_harness import REPO
from training.cli import export_main, train_main
from training.core.checkpoint import load_checkpoint
from training.voice.quantize import dequantize, quantize
from training.voice.samplernn import SampleRNN, condition_features
from training.voice.samplernn_generation import VoiceGenerator


@pytest.mark.parametrize("kind", ["mu-law", "linear"])
def test_quantisation_round_trip(kind):
    signal = torch.linspace(-1, 1, 1001)
    classes = quantize(signal, 256, kind)
    assert classes.min() == 0 and classes.max() == 255
    assert int(quantize(torch.zeros(()), 256, kind)) in (127, 128)
    error = (dequantize(classes, 256, kind) - signal).abs()
    assert error.max() < (0.025 if kind == "mu-law" else 0.005)
    if kind == "mu-law":  # finer steps near silence, where hearing is finer
        assert error[450:551].max() < error.max() / 10


def _model(period_taps: bool = False) -> SampleRNN:
    torch.manual_seed(0)
    model = SampleRNN(dim=32, embedding_dim=8, period_taps=period_taps).eval()
    if period_taps:  # they start at zero: give them something to carry
        torch.nn.init.normal_(model.period_input.weight)
    return model


def _inputs(model: SampleRNN, batch: int = 2, steps: int = 64,
            pitch: float = 43.0) -> tuple[torch.Tensor, torch.Tensor]:
    context = model.context
    classes = torch.randint(0, 256, (batch, context + steps))
    classes[:, :16] = int(quantize(torch.zeros(()), 256, "mu-law"))  # silence before
    # every second row bends up an octave: the period taps follow the pitch
    steady = torch.full((context + steps,), pitch)
    bend = torch.linspace(pitch, pitch + 12, context + steps)
    pitches = torch.stack([bend if row % 2 else steady for row in range(batch)])
    condition = condition_features(pitches, torch.full((batch, context + steps), 0.8),
                                   torch.arange(context + steps).flip(0).expand(batch, -1),
                                   8000)
    return classes, condition


@pytest.mark.parametrize("period_taps", [False, True])
def test_predictions_depend_only_on_earlier_samples(period_taps):
    model = _model(period_taps)
    classes, condition = _inputs(model)
    changed = classes.clone()
    target = model.context + 24
    changed[:, target] = (changed[:, target] + 7) % 256
    with torch.no_grad():
        before, after = model(classes, condition), model(changed, condition)
    moved = ((after - before).abs().amax(-1) > 1e-6).any(0).nonzero().flatten()
    assert model.context + int(moved.min()) == target + 1  # first informs the next sample


def test_period_taps_read_the_samples_one_period_back():
    model = _model(period_taps=True)
    classes, condition = _inputs(model, batch=1, steps=16, pitch=60.0)  # 61.2 samples
    first = model.context
    with torch.no_grad():
        reference = model(classes, condition)
        for back, reads in ((62, True), (63, True), (60, True), (59, False), (64, False)):
            changed = classes.clone()
            changed[0, first - back] = (changed[0, first - back] + 7) % 256
            moved = (model(changed, condition) - reference)[0, 0].abs().max() > 1e-6
            assert bool(moved) == reads, back


@pytest.mark.parametrize("period_taps", [False, True])
def test_incremental_generation_reproduces_the_training_forward_pass(period_taps):
    model = _model(period_taps)
    classes, condition = _inputs(model)
    context = model.context
    with torch.no_grad():
        reference = model(classes, condition)
    generator = VoiceGenerator(model, batch=2)
    generator.history = classes[:, :context].clone()
    stepped = []
    for index in range(classes.shape[1] - context):
        stepped.append(generator.step_logits(condition[:, context + index]))
        generator.push(classes[:, context + index])
    assert torch.allclose(torch.stack(stepped, 1), reference, atol=1e-5)


@pytest.mark.parametrize("period_taps", [False, True])
def test_generating_2n_samples_equals_n_plus_n_with_carried_state(period_taps):
    model = _model(period_taps)
    _, condition = _inputs(model, steps=96)
    context = model.context
    whole = VoiceGenerator(model, batch=2, seed=5).generate(condition[:, context:context + 96])
    halves = VoiceGenerator(model, batch=2, seed=5)
    first = halves.generate(condition[:, context:context + 48])
    second = halves.generate(condition[:, context + 48:context + 96])
    assert torch.equal(whole, torch.cat([first, second], dim=1))


@pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="fluidsynth is not installed")
def test_tiny_voice_training_run_exports_a_streaming_voice(tmp_path):
    data = tmp_path / "notes"
    assert train_main(["voice-data", "--out", str(data), "--notes", "F2,G2,A2",
                       "--durations", "0.8", "--file-seconds", "2", "--lead-silence",
                       "0.5"]) == 0
    run = tmp_path / "run"
    assert train_main(["voice", "--data", str(data), "--run-dir", str(run), "--steps", "24",
                       "--batch-size", "8", "--eval-every", "12", "--checkpoint-every", "12",
                       "--dim", "32", "--window", "256", "--hold-out", "G2",
                       "--threads", "1"]) == 0
    state = load_checkpoint(run / "checkpoint.pt")
    evaluations = state["history"]["eval"]
    assert [row["step"] for row in evaluations] == [12, 24]
    assert evaluations[-1]["held_out_bits_per_sample"] < 8.0  # better than uniform
    losses = [row["loss"] for row in state["history"]["train"]]
    assert np.mean(losses[-6:]) < np.mean(losses[:6])
    preview, rate = soundfile.read(run / "previews" / "step000024_p057_G2_v100_d0.8.wav")
    assert rate == 16000 and len(preview) == 8000 and np.isfinite(preview).all()
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"

    out = tmp_path / "voice.pt"
    assert export_main([str(run), "--out", str(out)]) == 0
    metadata = read_metadata(out)
    assert metadata["kind"] == "voice" and metadata["trained_notes"] == [41, 43, 45]
    assert metadata["held_out_notes"] == [43] and metadata["counter_cap"] == 8000
    voice = load_torchscript(out)
    assert voice.position == 0, "the file holds a fresh bank"
    condition = torch.zeros(4, 64, 3)
    condition[:, :, 1] = 0.8
    torch.manual_seed(3)
    whole = voice.generate(condition, 1.0)
    voice.reset_all()
    torch.manual_seed(3)
    halves = torch.cat([voice.generate(condition[:, :32], 1.0),
                        voice.generate(condition[:, 32:], 1.0)], dim=1)
    assert whole.shape == (4, 64) and torch.equal(whole, halves)
    assert whole.abs().max() <= 1.0
    refused = subprocess.run([sys.executable, "-m", "synth", "--model", str(out), "--audio",
                              "offline", "--render", str(tmp_path / "x.wav")],
                             capture_output=True, text=True, cwd=REPO, timeout=60)
    assert refused.returncode == 2
    assert "is a voice model, expected a grains model" in refused.stderr


def _fast_bank(model: SampleRNN, voices: int, seed: int = 0, held_offset: float = 0.0,
               compiled: bool = True, level_averaging: int = 0):
    from synth.contract.torchscript import module_weights, torchscript_warnings_silenced
    from synth.voicebank.samplernn import FastVoiceBank
    from training.voice.export import ScriptedVoice

    with torchscript_warnings_silenced():
        scripted = torch.jit.script(ScriptedVoice(model, voices, held_offset))
    return FastVoiceBank(module_weights(scripted), voices, seed=seed, compiled=compiled,
                         level_averaging=level_averaging)


@pytest.mark.parametrize("period_taps", [False, True])
def test_fast_bank_computes_what_the_torch_model_computes(period_taps):
    model = _model(period_taps)
    classes, condition = _inputs(model, batch=2, steps=48)
    context = model.context
    with torch.no_grad():
        reference = model(classes, condition)
    fast = _fast_bank(model, voices=2, compiled=False)
    fast.history[:] = classes[:, :context].numpy()
    stepped = []
    for index in range(48):
        stepped.append(fast.step_logits(condition[:, context + index].numpy()))
        fast.push(classes[:, context + index].numpy())
    assert np.allclose(np.stack(stepped, 1), reference.numpy(), atol=1e-4)


def test_fast_bank_streams_in_blocks_and_resets_a_voice():
    model = _model()
    condition = _inputs(model, batch=2, steps=96)[1][:, 16:].numpy()
    whole = _fast_bank(model, 2, seed=9).generate(condition)
    blocks = _fast_bank(model, 2, seed=9)
    halves = np.concatenate([blocks.generate(condition[:, :40]),
                             blocks.generate(condition[:, 40:])], axis=1)
    assert np.array_equal(whole, halves)
    blocks.reset(1)
    assert blocks.position == 96 and blocks.top_state[1].max() == 0.0
    assert np.all(blocks.history[1] == blocks.silence)


@pytest.mark.parametrize("period_taps", [False, True])
def test_compiled_kernel_generates_what_the_numpy_path_generates(period_taps):
    pytest.importorskip("numba")
    model = _model(period_taps)
    reference = _fast_bank(model, 3, seed=4, compiled=False)
    compiled = _fast_bank(model, 3, seed=4)
    assert compiled.compiled and not reference.compiled
    condition = _inputs(model, batch=3, steps=700)[1][:, -700:].numpy()
    first = [bank.generate(condition[:, :301]) for bank in (reference, compiled)]
    for bank in (reference, compiled):
        bank.reset(2)  # a new note on one voice mid-stream, off the frame boundaries
    second = [bank.generate(condition[:, 301:], temperature=0.7)
              for bank in (reference, compiled)]
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(second[0], second[1])
    assert compiled.position == reference.position == 700
    for name in compiled.STATE_ARRAYS:
        np.testing.assert_allclose(getattr(compiled, name), getattr(reference, name),
                                   atol=1e-5)


def test_level_averaging_plays_between_the_levels_the_network_still_hears():
    pytest.importorskip("numba")
    model = _model(period_taps=True)
    condition = _inputs(model, batch=2, steps=400)[1][:, -400:].numpy()
    played = {}
    for compiled in (False, True):
        drawn = _fast_bank(model, 2, seed=5, compiled=compiled)
        averaged = _fast_bank(model, 2, seed=5, compiled=compiled, level_averaging=2)
        played[compiled] = averaged.generate(condition)
        levels = drawn.generate(condition)
        np.testing.assert_array_equal(averaged.history, drawn.history)  # the same draws
        assert not np.isin(played[compiled], drawn.class_values).all(), "between the levels"
        step = np.max(np.diff(drawn.class_values))
        assert np.max(np.abs(played[compiled] - levels)) <= 2 * step
    np.testing.assert_allclose(played[True], played[False], rtol=1e-5, atol=1e-6)


def test_a_noisy_history_keeps_its_classes_in_range_and_is_off_by_default():
    from training.voice.task import corrupt_history

    torch.manual_seed(0)
    classes = torch.randint(0, 256, (64, 300))
    assert torch.equal(corrupt_history(classes, 0.0, 256), classes)
    noisy = corrupt_history(classes, 3.0, 256)
    assert noisy.shape == classes.shape and noisy.dtype == classes.dtype
    assert int(noisy.min()) >= 0 and int(noisy.max()) <= 255
    spread = (noisy - classes).float().std(dim=1)
    # one standard deviation per window, drawn from 0..3 levels
    assert 0.5 < float(spread.mean()) < 2.5 and float(spread.max()) < 4.0
    assert float(spread.min()) < 0.8


def test_train_voice_refuses_a_negative_or_nan_input_noise(tmp_path, capsys):
    from training.cli import train_main

    for value, reason in (("-1", "-1 is outside 0..64"), ("nan", "nan is not a finite number")):
        with pytest.raises(SystemExit) as stopped:
            train_main(["voice", "--data", str(tmp_path), "--run-dir", str(tmp_path / "r"),
                        "--input-noise", value])
        assert stopped.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"deepnote-train voice: error: argument --input-noise: {reason}")
    assert not (tmp_path / "r").exists()


def test_onset_windows_put_every_note_start_in_the_first_half_of_a_window():
    from training.voice.dataset import NoteClip
    from training.voice.networks import VoiceModelConfig
    from training.voice.task import cut_windows, note_onsets

    length = 8000
    remaining = np.zeros(length, np.int32)
    remaining[1000:3000] = np.arange(2000, 0, -1)
    remaining[3000:5000] = np.arange(2000, 0, -1)  # legato: the counter rises again
    remaining[7600:7900] = np.arange(300, 0, -1)  # too near the end for a window
    assert note_onsets(remaining).tolist() == [1000, 3000, 7600]
    clip = NoteClip("two", np.zeros(length, np.float32), np.full(length, 45.0, np.float32),
                    np.full(length, 0.8, np.float32), remaining)
    config = VoiceModelConfig(window=1024, window_hop=512)
    regular = cut_windows([clip], config, 8000, context=16)
    extra = cut_windows([clip], config, 8000, context=16, onset_windows=4)
    added = extra.condition[len(regular):]
    assert len(added) == 8  # 4 for each onset with room for a window after it
    counters = added[:, 16:, 2]
    where = ((counters[:, 1:] > counters[:, :-1]).float().argmax(1) + 1).tolist()
    assert where[:4] == where[4:] == [8, 136, 264, 392]  # the onsets are off the grid by 8


def test_a_quieter_history_lowers_the_level_of_some_windows_and_is_off_by_default():
    from training.voice.task import quieten_history

    torch.manual_seed(0)
    signal = 0.5 * torch.sin(torch.linspace(0, 200, 400)).expand(256, -1)
    classes = quantize(signal, 256, "mu-law")
    assert torch.equal(quieten_history(classes, 0.0, 256, "mu-law"), classes)
    quieter = quieten_history(classes, 0.5, 256, "mu-law")
    levels = dequantize(quieter, 256, "mu-law").pow(2).mean(1).sqrt()
    gains_db = 20 * torch.log10(levels / dequantize(classes, 256, "mu-law").pow(2).mean(1).sqrt())
    untouched = gains_db.abs() < 1e-6
    assert 0.35 < float(untouched.float().mean()) < 0.65  # about half the windows
    assert float(gains_db.min()) > -12.5 and float(gains_db[~untouched].max()) < 0.0
    assert float(gains_db[~untouched].mean()) < -4.0  # spread over -12..0 dB
