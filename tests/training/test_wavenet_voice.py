"""The conditioned WaveNet voice: causality, cached = naive inference, training, export, and
the synth playing a WaveNet file through the same voice contract as a SampleRNN file."""

import json
import shutil
import subprocess
import sys
import time

import mido
import numpy as np
import pytest
import soundfile
import torch

from synth.contract.model_file import read_metadata
from synth.contract.torchscript import (
    load_torchscript,
    module_weights,
    torchscript_warnings_silenced,
)
from tests.jack_harness import REPO
from training.cli import export_main, train_main
from training.core.checkpoint import load_checkpoint
from training.voice.quantize import quantize
from training.voice.samplernn import condition_features
from training.voice.scripted_wavenet import ScriptedWaveNetVoice
from training.voice.wavenet import WaveNet
from training.voice.wavenet_generation import CachedWaveNetGenerator, NaiveWaveNetGenerator


def _model(features: int = 3) -> WaveNet:
    torch.manual_seed(0)
    return WaveNet(channels=8, skip_channels=16, stacks=2, layers_per_stack=5,
                   condition_features=features).eval()


def _condition(batch: int, steps: int) -> torch.Tensor:
    pitch = torch.full((batch, steps), 45.0)
    remaining = torch.arange(steps, 0, -1).expand(batch, steps)
    return condition_features(pitch, torch.full((batch, steps), 0.8), remaining, 8000)


def test_receptive_field_and_causality():
    model = _model()
    assert model.dilations == [1, 2, 4, 8, 16] * 2 and model.receptive_field == 63
    classes = torch.randint(0, 256, (1, 63 + 40))
    condition = _condition(1, 63 + 40)
    with torch.no_grad():
        before = model(classes, condition)
        changed = classes.clone()
        changed[0, 63 + 20] = (changed[0, 63 + 20] + 100) % 256
        after = model(changed, condition)
    # Target 20 is predicted from samples before it: logits up to it are unchanged.
    assert torch.equal(before[:, :21], after[:, :21])
    assert not torch.allclose(before[:, 21], after[:, 21])


def test_cached_inference_equals_naive_recompute_sample_for_sample():
    model = _model()
    condition = _condition(2, 300)
    naive = NaiveWaveNetGenerator(model, batch=2, seed=7).generate(condition)
    cached = CachedWaveNetGenerator(model, batch=2, seed=7).generate(condition)
    assert naive.shape == (2, 300)
    assert torch.equal(naive, cached)
    assert len(torch.unique(cached)) > 10, "a real random walk, not a constant"


def test_cached_inference_reproduces_the_training_forward_pass():
    model = _model()
    field = model.receptive_field
    silence = int(quantize(torch.zeros(()), 256, "mu-law"))
    classes = torch.cat([torch.full((1, field), silence), torch.randint(0, 256, (1, 50))], 1)
    condition = torch.cat([torch.zeros(1, field, 3), _condition(1, 50)], dim=1)
    with torch.no_grad():
        reference = model(classes, condition)[0]
    generator = CachedWaveNetGenerator(model)
    for index in range(50):
        logits = generator.step_logits(condition[:, field + index])
        torch.testing.assert_close(logits[0], reference[index], atol=1e-5, rtol=1e-5)
        generator.push(classes[:, field + index])


def test_generating_2n_samples_equals_n_plus_n_with_carried_state():
    model = _model()
    condition = _condition(2, 128)
    whole = CachedWaveNetGenerator(model, batch=2, seed=5).generate(condition)
    halves = CachedWaveNetGenerator(model, batch=2, seed=5)
    assert torch.equal(whole, torch.cat([halves.generate(condition[:, :64]),
                                         halves.generate(condition[:, 64:])], dim=1))


def test_fast_numpy_bank_computes_what_the_torch_model_computes():
    from synth.voicebank.wavenet import FastWaveNetBank

    model = _model()
    with torchscript_warnings_silenced():
        scripted = torch.jit.script(ScriptedWaveNetVoice(model, 3))
    fast = FastWaveNetBank(module_weights(scripted), 3)
    reference = CachedWaveNetGenerator(model, batch=3)
    condition = _condition(3, 80)
    gates = fast.condition_gates(condition.numpy())
    played = torch.randint(0, 256, (80, 3))
    for index in range(80):
        np.testing.assert_allclose(fast.step_logits(gates[index]),
                                   reference.step_logits(condition[:, index]).numpy(),
                                   atol=1e-4, rtol=1e-4)
        fast.push(played[index].numpy())
        reference.push(played[index])
    fast.reset(1)  # a new note on voice 1 starts from silence again, the others go on
    fresh = CachedWaveNetGenerator(model, batch=1)
    np.testing.assert_allclose(fast.step_logits(gates[0])[1],
                               fresh.step_logits(condition[1:2, 0]).numpy()[0],
                               atol=1e-4, rtol=1e-4)


def test_compiled_kernel_generates_what_the_numpy_path_generates():
    from synth.voicebank.wavenet import FastWaveNetBank

    pytest.importorskip("numba")
    model = _model()
    with torchscript_warnings_silenced():
        scripted = torch.jit.script(ScriptedWaveNetVoice(model, 3))
    reference = FastWaveNetBank(module_weights(scripted), 3, seed=4, compiled=False)
    compiled = FastWaveNetBank(module_weights(scripted), 3, seed=4)
    assert compiled.compiled and not reference.compiled
    condition = _condition(3, 700).numpy()
    for bank in (reference, compiled):
        bank.reset(1)
    first = [bank.generate(condition[:, :300]) for bank in (reference, compiled)]
    for bank in (reference, compiled):
        bank.reset(2)  # a new note on one voice mid-stream
    second = [bank.generate(condition[:, 300:], temperature=0.7)
              for bank in (reference, compiled)]
    np.testing.assert_array_equal(first[0], first[1])
    np.testing.assert_array_equal(second[0], second[1])
    assert compiled.position == reference.position == 700


def test_unconditioned_wavenet_trains_on_zero_features():
    model = _model(features=0)
    classes = torch.randint(0, 256, (2, model.receptive_field + 16))
    logits = model(classes, torch.zeros(2, classes.shape[1], 0))
    assert logits.shape == (2, 16, 256)
    audio = CachedWaveNetGenerator(model, seed=1).generate(torch.zeros(1, 40, 0))
    assert audio.shape == (1, 40)


@pytest.fixture(scope="module")
def tiny_wavenet_voice(tmp_path_factory):
    """A WaveNet voice trained for a few steps on three soundfont notes (beside its run)."""
    root = tmp_path_factory.mktemp("tiny_wavenet")
    data = root / "notes"
    assert train_main(["voice-data", "--out", str(data), "--notes", "F2,G2,A2",
                       "--durations", "0.8", "--file-seconds", "2", "--lead-silence",
                       "0.5"]) == 0
    run = root / "run"
    assert train_main(["voice", "--arch", "wavenet", "--data", str(data), "--run-dir",
                       str(run), "--steps", "16", "--batch-size", "4", "--eval-every", "8",
                       "--checkpoint-every", "8", "--channels", "8", "--skip-channels", "16",
                       "--layers-per-stack", "6", "--window", "256", "--hold-out", "G2",
                       "--threads", "1"]) == 0
    assert export_main([str(run), "--out", str(root / "wavenet.pt")]) == 0
    return root / "wavenet.pt"


@pytest.mark.slow
def test_tiny_wavenet_voice_trains_exports_and_plays_a_midi_file(tiny_wavenet_voice,
                                                                 tmp_path):
    run, out = tiny_wavenet_voice.parent / "run", tiny_wavenet_voice
    state = load_checkpoint(run / "checkpoint.pt")
    assert [row["step"] for row in state["history"]["eval"]] == [8, 16]
    assert state["history"]["eval"][-1]["held_out_bits_per_sample"] < 8.0
    losses = [row["loss"] for row in state["history"]["train"]]
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    config = json.loads((run / "config.json").read_text())
    assert config["model"]["arch"] == "wavenet"
    assert (run / "previews" / "step000016_p057_G2_v100_d0.8.wav").is_file()

    metadata = read_metadata(out)
    assert metadata["architecture"] == "wavenet" and metadata["frame_size"] == 1
    assert metadata["trained_notes"] == [41, 43, 45]
    voice = load_torchscript(out)
    condition = torch.zeros(4, 40, 3)
    torch.manual_seed(3)
    whole = voice.generate(condition, 1.0)
    voice.reset_all()
    torch.manual_seed(3)
    halves = torch.cat([voice.generate(condition[:, :20], 1.0),
                        voice.generate(condition[:, 20:], 1.0)], dim=1)
    assert torch.equal(whole, halves)

    # The synth plays it with no option telling it the architecture.
    midi = tmp_path / "song.mid"
    song = mido.MidiFile()
    song.tracks.append(mido.MidiTrack([mido.Message("note_on", note=43, velocity=100, time=0),
                                       mido.Message("note_off", note=43, time=240)]))
    song.save(str(midi))
    render = tmp_path / "song.wav"
    played = subprocess.run([sys.executable, "-m", "synth", "--audio", "offline", "--render",
                             str(render), "--voice", str(out), "--midi-file", str(midi)],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert played.returncode == 0, played.stderr
    audio, _ = soundfile.read(render)
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0.0


def test_level_averaging_is_refused_for_a_wavenet_run(tiny_wavenet_voice, tmp_path, capsys):
    out = tmp_path / "averaged.pt"
    assert export_main([str(tiny_wavenet_voice.parent / "run"), "--out", str(out),
                        "--level-averaging", "2"]) == 2
    assert capsys.readouterr().err.strip() == ("deepnote-export: error: --level-averaging is "
                                               "for SampleRNN voices; this run is a WaveNet")
    assert not out.exists()


@pytest.mark.slow
def test_the_live_synth_plays_a_wavenet_voice_and_says_if_it_is_too_slow(tiny_wavenet_voice):
    from pythonosc.udp_client import SimpleUDPClient

    from synth.shipped import DEFAULT_MODEL
    from tests.jack_harness import JackServer, SynthProcess, free_udp_port, tools_missing

    if tools_missing():
        pytest.skip("JACK tools missing")
    jack = pytest.importorskip("jack")  # noqa: F841
    from tests.jack_keyboard import JackKeyboard

    server = JackServer()
    port = free_udp_port()
    synth = SynthProcess(server, DEFAULT_MODEL, port, "--voice", str(tiny_wavenet_voice),
                         "--no-composer")
    keyboard = None
    try:
        keyboard = JackKeyboard(server.name, capture_seconds=10.0)
        synth.wait_for("playing", 120)
        keyboard.listen_to("deepnote:output_1")
        line = next(text for text in synth.lines if "voice generates" in text)
        speed = float(line.split("generates ")[1].split("x")[0])
        assert ("too slow to play" in "\n".join(synth.lines)) == (speed < 1.1)
        osc = SimpleUDPClient("127.0.0.1", port)
        osc.send_message("/volume", 0.0)
        time.sleep(0.6)
        start = keyboard.frame
        osc.send_message("/note", [43, 110])
        time.sleep(1.0)
        osc.send_message("/note", [43, 0])
        time.sleep(2.0)
        t0 = start / keyboard.rate
        assert keyboard.level_db(t0 + 0.2, t0 + 1.0) > -80.0, "the WaveNet voice sounds"
        assert keyboard.level_db(t0 + 2.2, t0 + 2.9) < -100.0, "and ends"
        assert synth.interrupt() == 0
    finally:
        if keyboard is not None:
            keyboard.close()
        synth.kill()
        server.stop()


def test_a_voice_file_of_an_unknown_architecture_is_refused_with_the_reason():
    from synth.contract.model_file import ModelFileError, validate_metadata

    metadata = {"format_version": "1.0", "kind": "voice", "sample_rate": 16000,
                "training_data": {}, "training_command": "", "code_version": "x",
                "voices": 4, "frame_size": 1, "levels": 256, "quantization": "mu-law",
                "counter_cap": 8000, "trained_notes": [41]}
    validate_metadata(metadata)  # no architecture: a SampleRNN file from before WaveNet
    with pytest.raises(ModelFileError, match="unknown voice architecture 'transformer'"):
        validate_metadata({**metadata, "architecture": "transformer"}, source="x.pt")


@pytest.mark.slow
def test_unconditioned_wavenet_trains_on_an_audio_folder_and_generates(small_audio_folder,
                                                                        tmp_path):
    shutil.copytree(small_audio_folder, tmp_path / "data")
    (tmp_path / "data" / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt oops")
    run = tmp_path / "run"
    assert train_main(["wavenet", "--data", str(tmp_path / "data"), "--run-dir", str(run),
                       "--steps", "30", "--batch-size", "4", "--eval-every", "15",
                       "--checkpoint-every", "15", "--channels", "8", "--skip-channels", "16",
                       "--layers-per-stack", "5", "--window", "256", "--learning-rate",
                       "1e-2", "--threads", "1"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert "corrupt.wav" in config["data_summary"]["skipped"]
    state = load_checkpoint(run / "checkpoint.pt")
    evaluations = [row["held_out_bits_per_sample"] for row in state["history"]["eval"]]
    assert evaluations[-1] < evaluations[0] and evaluations[-1] < 8.0  # uniform: 8 bits
    assert (run / "previews" / "step000030.wav").is_file()

    from training.cli import generate_main

    out = tmp_path / "loop.wav"
    assert generate_main([str(run), "--seconds", "0.5", "--out", str(out), "--seed", "2"]) == 0
    audio, rate = soundfile.read(out)
    assert rate == 16000 and len(audio) == 8000 and np.isfinite(audio).all()
    assert np.abs(audio).max() <= 1.0 and np.std(audio) > 0
    assert generate_main([str(run.parent / "nothing"), "--out", str(out)]) == 2
