import json
import shutil
import zipfile

import numpy as np
import pytest
import torch

from synth.contract.model_file import (
    FORMAT_VERSION,
    ModelFileError,
    read_composer_model,
    read_grain_model,
    read_metadata,
    read_voice_model,
)
from synth.contract.torchscript import load_torchscript
from synth.shipped import DEFAULT_COMPOSER, DEFAULT_MODEL, DEFAULT_VOICE
from tests.conftest import tiny_training_args
from training.cli import export_main, train_main
from training.core.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def exported(small_audio_folder, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    args = tiny_training_args(small_audio_folder, root / "run")
    args[args.index("--steps") + 1] = "2"
    assert train_main(args) == 0
    assert export_main([str(root / "run"), "--out", str(root / "grains.pt")]) == 0
    return root


def _error_line(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert len(lines) == 1
    return lines[0]


def test_missing_run_is_one_line_exit_2(tmp_path, capsys):
    assert export_main([str(tmp_path / "nope"), "--out", str(tmp_path / "x.pt")]) == 2
    assert "not a run folder" in _error_line(capsys)


def test_checkpoint_that_does_not_fit_is_refused(exported, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(exported / "run", run)
    state = load_checkpoint(run / "checkpoint.pt")
    state["model"]["mean_head.weight"] = torch.zeros(3, 3, 3)
    save_checkpoint(run / "checkpoint.pt", state)
    assert export_main([str(run), "--out", str(tmp_path / "x.pt")]) == 2
    assert "checkpoint does not fit the grain VAE" in _error_line(capsys)
    assert not (tmp_path / "x.pt").exists()


def test_unwritable_output_keeps_the_previous_file(exported, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    assert export_main([str(exported / "run"), "--out", str(blocker / "grains.pt")]) == 2
    assert "cannot write" in _error_line(capsys)
    previous = tmp_path / "grains.pt"
    previous.write_bytes(b"previous model")
    (tmp_path / "grains.pt").chmod(0o444)
    assert export_main([str(exported / "run"), "--out", str(previous)]) == 0
    assert previous.read_bytes() != b"previous model"


def test_metadata_reads_without_torch_and_matches(exported):
    metadata = read_metadata(exported / "grains.pt")
    assert metadata["format_version"] == FORMAT_VERSION == "1.1"
    assert metadata["training_steps"] == 2
    assert "grain_hop" not in metadata  # dropped in 1.1: nothing read it


def test_metadata_is_read_into_typed_objects_and_old_files_still_load(exported):
    model = read_grain_model(exported / "grains.pt")
    assert (model.latent_dim, model.grain_size, model.sample_rate) == (16, 512, 16000)
    assert len(model.latent_quantiles[0]) == 16 and len(model.latent_pca_axes) >= 2
    old = exported / "format-1.0.pt"
    _rewrite_metadata(exported / "grains.pt", old,  # as files were written before 1.1
                      lambda m: {**m, "format_version": "1.0", "grain_hop": 256})
    assert read_grain_model(old).grain_size == 512
    assert read_grain_model(DEFAULT_MODEL).grain_size == read_metadata(DEFAULT_MODEL)["grain_size"]
    voice = read_voice_model(DEFAULT_VOICE)
    assert voice.architecture == "samplernn" and voice.voices >= 1 and voice.trained_notes
    composer = read_composer_model(DEFAULT_COMPOSER)
    assert composer.pitches > 0 and 36 <= composer.top_line_center <= 96


@pytest.mark.parametrize(("reader", "path", "kind"), [
    (read_grain_model, DEFAULT_VOICE, "voice"),
    (read_voice_model, DEFAULT_MODEL, "grains"),
    (read_composer_model, DEFAULT_MODEL, "grains"),
])
def test_a_model_of_the_wrong_kind_is_refused_in_one_line(reader, path, kind):
    with pytest.raises(ModelFileError, match=f"is a {kind} model, expected a") as error:
        reader(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"this is not a model", "not a TorchScript model file"),
        (None, "not a deepnote model"),
    ],
    ids=["random-bytes", "zip-without-metadata"],
)
def test_foreign_files_are_refused_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "model.pt"
    if content is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model/data.pkl", b"")
    else:
        path.write_bytes(content)
    with pytest.raises(ModelFileError, match=reason):
        read_metadata(path)


def _rewrite_metadata(source, target, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename.endswith("/extra/deepnote.json"):
                data = json.dumps(change(json.loads(data))).encode()
            new.writestr(item, data)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m: {**m, "format_version": "2.0"}, "format version 2.0 is not supported"),
        (lambda m: {**m, "kind": "reverb"}, "unknown model kind 'reverb'"),
        (lambda m: {k: v for k, v in m.items() if k != "latent_quantiles"},
         "metadata lacks latent_quantiles"),
        (lambda m: {**m, "latent_pca_axes": [[0.0] * 16]}, "latent_pca_axes"),
    ],
    ids=["future-major", "unknown-kind", "missing-key", "bad-axes"],
)
def test_incompatible_metadata_is_refused(exported, tmp_path, change, reason):
    target = tmp_path / "changed.pt"
    _rewrite_metadata(exported / "grains.pt", target, change)
    with pytest.raises(ModelFileError, match=reason):
        read_metadata(target)


def test_corrupt_torchscript_is_refused_on_load(exported, tmp_path):
    target = tmp_path / "broken.pt"
    with zipfile.ZipFile(exported / "grains.pt") as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if not item.filename.endswith("data.pkl"):
                new.writestr(item, old.read(item.filename))
    read_metadata(target)  # the metadata is intact ...
    with pytest.raises(ModelFileError, match="TorchScript cannot load it"):
        load_torchscript(target)  # ... but the model is not



def test_an_exported_grain_file_carries_its_decoder_for_the_torch_free_worker(exported):
    from synth.contract.module_weights import read_module_weights
    from synth.grains.decode_worker import open_grain_decoder

    path = exported / "grains.pt"
    weights = read_module_weights(path)
    assert weights is not None and weights.level_dims == 1
    scripted = load_torchscript(path)
    decoder_state = {name for name in scripted.state_dict() if name.startswith("vae.decoder")}
    assert set(weights.state_dict()) == decoder_state, "the decoder's half, all of it"
    latents = torch.randn(32, 16, generator=torch.Generator().manual_seed(1))
    latents[:, 0] = torch.linspace(-4.5, 2.0, 32)
    with torch.inference_mode():
        expected = scripted.decode_grains(latents).numpy()
    decoded = open_grain_decoder(str(path))(latents.numpy())
    assert abs(expected).max() > 0.01
    np.testing.assert_allclose(decoded, expected, atol=2e-5, rtol=0)
