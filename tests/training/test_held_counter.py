"""The held counter: played back, a held key's counter is raised past anything the SampleRNN
heard in training, so a held note stays held."""

import json

import numpy as np
import pytest
import torch

from synth.contract.model_file import read_metadata
from synth.contract.torchscript import load_torchscript, module_weights
from synth.voicebank.open import open_voice_bank
from tests.training.test_voice_model import _fast_bank
from training.cli import export_main, train_main
from training.core.run_folder import RunError
from training.core.warm_start import starting_state
from training.voice.quantize import quantize
from training.voice.samplernn import SampleRNN, condition_features, held_counter
from training.voice.samplernn_generation import VoiceGenerator

CAP = 8000


def _held_then_released(batch: int, steps: int, release_at: int) -> torch.Tensor:
    """A key held (counter at its cap) for ``release_at`` samples, then counting down."""
    remaining = torch.cat([torch.full((release_at,), CAP),
                           torch.arange(CAP - 1, CAP - 1 - (steps - release_at), -1)])
    return condition_features(torch.full((batch, steps), 43.0), torch.full((batch, steps), 0.8),
                              remaining.expand(batch, -1), CAP)


def test_only_the_held_counter_is_raised():
    condition = _held_then_released(1, 40, release_at=24)
    read = held_counter(condition, 0.5)
    assert torch.equal(read[..., :2], condition[..., :2])
    assert read[0, :24, 2].eq(1.5).all()
    assert torch.equal(read[0, 24:, 2], condition[0, 24:, 2])
    assert held_counter(condition, 0.0) is condition


def test_playback_with_the_offset_is_the_network_told_the_raised_counter():
    torch.manual_seed(0)
    model = SampleRNN(dim=32, embedding_dim=8).eval()
    classes = torch.randint(0, 256, (3, 16 + 64))
    classes[:, :16] = int(quantize(torch.zeros(()), 256, "mu-law"))
    condition = _held_then_released(3, 16 + 64, release_at=48)
    with torch.no_grad():
        reference = model(classes, held_counter(condition, 0.5))
        assert not torch.allclose(model(classes, condition), reference, atol=1e-3)
    generator = VoiceGenerator(model, batch=3, held_offset=0.5)
    fast = _fast_bank(model, voices=3, held_offset=0.5)
    network_condition = fast.network_condition(condition.numpy())
    assert network_condition[0, 0, 2] == 1.5 and condition[0, 0, 2] == 1.0
    stepped, fast_stepped = [], []
    for index in range(64):
        stepped.append(generator.step_logits(condition[:, 16 + index]))
        generator.push(classes[:, 16 + index])
        fast_stepped.append(fast.step_logits(network_condition[:, 16 + index]))
        fast.push(classes[:, 16 + index].numpy())
    assert torch.allclose(torch.stack(stepped, 1), reference, atol=1e-5)
    assert np.allclose(np.stack(fast_stepped, 1), reference.numpy(), atol=1e-4)


def test_a_start_from_another_shape_is_refused_with_the_layer_named():
    with pytest.raises(RunError, match=r"source run: top_input.weight is \(32, 19\), this "
                                       r"network needs \(48, 19\)"):
        starting_state(SampleRNN(dim=32, embedding_dim=8).state_dict(),
                       SampleRNN(dim=48, embedding_dim=8), "source run")


def test_a_fine_tuned_run_exports_a_voice_with_the_held_offset_asked_for(tiny_voice_model,
                                                                          tmp_path):
    source_run = tiny_voice_model.parent / "run"
    notes = tiny_voice_model.parent / "notes"
    run = tmp_path / "tuned"
    assert train_main(["voice", "--data", str(notes), "--run-dir", str(run), "--init-from",
                       str(source_run), "--steps", "4", "--batch-size", "4", "--eval-every",
                       "4", "--checkpoint-every", "4", "--dim", "32", "--window", "256",
                       "--threads", "1"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["init_from"] == {"run_dir": str(source_run.resolve()), "step": 8}
    out = tmp_path / "tuned.pt"
    assert export_main([str(run), "--out", str(out), "--held-offset", "0.25"]) == 0
    assert read_metadata(out)["held_offset"] == 0.25
    scripted = load_torchscript(out)
    assert scripted.held_offset == 0.25
    voices = read_metadata(out)["voices"]
    bank = open_voice_bank(module_weights(scripted), "samplernn", voices=voices, seed=4)
    assert bank.network_condition(np.ones((2, 1, 3), np.float32))[0, 0, 2] == 1.25
    condition = _held_then_released(voices, 64, release_at=40)
    expected = held_counter(condition, 0.25)
    assert torch.equal(scripted.network_condition(condition), expected)
    assert np.array_equal(bank.network_condition(condition.numpy()), expected.numpy())
    audio = bank.generate(condition.numpy())
    assert audio.shape == (voices, 64) and np.isfinite(audio).all()


def test_the_default_export_plays_held_keys_raised(tiny_voice_model):
    from training.voice.networks import DEFAULT_HELD_OFFSET

    assert read_metadata(tiny_voice_model)["held_offset"] == DEFAULT_HELD_OFFSET > 0.0
    assert load_torchscript(tiny_voice_model).held_offset == DEFAULT_HELD_OFFSET


def test_a_start_from_a_different_network_is_a_usage_error(tiny_voice_model, tmp_path, capsys):
    notes = tiny_voice_model.parent / "notes"
    code = train_main(["voice", "--data", str(notes), "--run-dir", str(tmp_path / "r"),
                       "--init-from", str(tiny_voice_model.parent / "run"), "--steps", "2",
                       "--dim", "48", "--window", "256", "--threads", "1"])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error == ("deepnote-train: error: --init-from run: top_input.weight is (32, 19), "
                     "this network needs (48, 19)")


def test_training_previews_play_held_keys_as_the_synth_will():
    from training.voice.networks import (
        DEFAULT_HELD_OFFSET,
        VoiceModelConfig,
        build_voice_network,
        playback_held_offset,
        streaming_generator,
    )

    samplernn = build_voice_network(VoiceModelConfig(dim=16, embedding_dim=4))
    wavenet = build_voice_network(VoiceModelConfig(arch="wavenet", channels=4,
                                                   skip_channels=4, layers_per_stack=2))
    assert playback_held_offset(samplernn) == DEFAULT_HELD_OFFSET
    assert playback_held_offset(wavenet) == 0.0
    preview = streaming_generator(samplernn, held_offset=playback_held_offset(samplernn))
    assert preview.held_offset == DEFAULT_HELD_OFFSET
    with pytest.raises(ValueError, match="held offset is for SampleRNN"):
        streaming_generator(wavenet, held_offset=0.3)
