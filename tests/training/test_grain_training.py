import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from synth.contract.model_file import read_metadata
from synth.contract.torchscript import load_torchscript, torchscript_warnings_silenced
from tests.conftest import tiny_training_args
from training.cli import eval_main, export_main, train_main
from training.core.checkpoint import load_checkpoint
from training.grains.export import NN_TILDE_TEST_LENGTH
from training.grains.presets import GRAIN_PRESETS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained_run(small_audio_folder, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert train_main(tiny_training_args(small_audio_folder, run)) == 0
    return run


def test_run_folder_holds_checkpoint_plots_and_previews(trained_run):
    state = load_checkpoint(trained_run / "checkpoint.pt")
    assert state["step"] == 12
    assert [row["step"] for row in state["history"]["eval"]] == [6, 12]
    assert all(np.isfinite(row["lsd_db"]) for row in state["history"]["eval"])
    for figure in ("loss.png", "latent_map.png"):
        assert (trained_run / figure).read_bytes()[:4] == b"\x89PNG"
    previews = sorted((trained_run / "previews").glob("step000012_*.wav"))
    assert len(previews) == 2
    audio, rate = soundfile.read(previews[0])
    assert rate == 16000 and len(audio) > 8000 and np.isfinite(audio).all()
    config = json.loads((trained_run / "config.json").read_text())
    assert config["command"].startswith("deepnote-train grains --data")
    assert config["data_summary"]["test_files"] >= 1


def test_export_reload_decode_and_nn_tilde_zeros(trained_run, tmp_path):
    out = tmp_path / "models" / "grains.pt"
    assert export_main([str(trained_run), "--out", str(out)]) == 0
    metadata = read_metadata(out)
    extra = {"deepnote.json": ""}
    with torchscript_warnings_silenced():
        model = torch.jit.load(str(out), _extra_files=extra)
    assert json.loads(extra["deepnote.json"]) == metadata
    assert metadata["kind"] == "grains" and metadata["latent_dim"] == 16
    assert metadata["sample_rate"] == 16000 and metadata["grain_size"] == 512
    quantiles = np.array(metadata["latent_quantiles"])
    assert quantiles.shape == (101, 16) and (np.diff(quantiles, axis=0) >= 0).all()
    axes = np.array(metadata["latent_pca_axes"])
    np.testing.assert_allclose(axes @ axes.T, np.eye(16), atol=1e-6)
    assert metadata["training_data"]["train_files"] >= 1
    assert "deepnote-train grains" in metadata["training_command"]
    with torch.no_grad():
        grains = model.decode_grains(torch.randn(7, 16))
        assert grains.shape == (7, 512) and grains.dtype == torch.float32
        assert model.encode_grains(grains).shape == (7, 16)
        assert model.get_methods() == ["forward", "encode", "decode"]
        for method in model.get_methods():
            in_ch, in_ratio, out_ch, out_ratio = getattr(model, f"{method}_params").tolist()
            output = getattr(model, method)(torch.zeros(1, in_ch, NN_TILDE_TEST_LENGTH // in_ratio))
            assert output.shape == (1, out_ch, NN_TILDE_TEST_LENGTH // out_ratio)
            assert torch.isfinite(output).all()


def test_evaluation_reports_vae_next_to_pca(trained_run, tmp_path):
    assert eval_main([str(trained_run), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["models"]) == {"vae-level-shape", "pca-16"}  # the default preset
    for scores in report["models"].values():
        for scope in ("grain", "file"):
            assert scores[scope]["lsd_db"] > 0 and scores[scope]["spectral_convergence"] > 0
    assert (tmp_path / "comparison.png").read_bytes()[:4] == b"\x89PNG"


def test_evaluation_measures_quiet_frames_silence_and_other_audio(trained_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    t = np.arange(16000) / 16000
    swell = np.sin(2 * np.pi * 330 * t) * np.linspace(0.001, 0.5, len(t))  # -60 dB upwards
    soundfile.write(other / "swell.wav", swell.astype(np.float32), 16000)
    (other / "broken.wav").write_bytes(b"RIFF not audio")
    assert eval_main([str(trained_run), "--out", str(tmp_path / "eval"), "--other",
                      str(other)]) == 0
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    for scores in report["models"].values():
        assert np.isfinite(scores["silence"]["decoded_rms_db"])
        assert 0.0 <= scores["quiet_frames"]["within_6_db"] <= 1.0
    assert report["other"]["files"] == 1
    for scores in report["other"]["models"].values():
        assert scores["file"]["lsd_db"] > 0 and scores["quiet_frames"]["frames"] > 0
    ratios = report["ratios_to_pca"]
    assert set(ratios) == {"held_out_grain_lsd", "held_out_file_lsd", "other_file_lsd"}
    other = report["other"]["models"]
    assert ratios["other_file_lsd"] == round(
        other["vae-level-shape"]["file"]["lsd_db"] / other["pca-16"]["file"]["lsd_db"], 3)


def test_quiet_frames_that_come_back_loud_or_silent_are_counted():
    from training.grains.evaluation import evaluate_files

    t = np.arange(16000) / 16000
    quiet = (0.003 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)  # about -53 dBFS
    exact = evaluate_files(lambda grains: grains, [quiet], 512)["quiet_frames"]
    louder = evaluate_files(lambda grains: grains * 10, [quiet], 512)["quiet_frames"]
    assert exact["frames"] > 50 and exact["within_6_db"] == 1.0
    assert exact["median_level_error_db"] < 1.0
    assert louder["within_6_db"] == 0.0 and louder["median_level_error_db"] > 15.0


@pytest.mark.parametrize("preset", sorted(GRAIN_PRESETS))
def test_every_preset_trains_and_exports(preset, small_audio_folder, tmp_path):
    run = tmp_path / preset
    args = tiny_training_args(small_audio_folder, run, "--preset", preset)
    args[args.index("--steps") + 1] = "3"
    assert train_main(args) == 0
    out = tmp_path / f"{preset}.pt"
    assert export_main([str(run), "--out", str(out)]) == 0
    assert read_metadata(out)["model_config"]["preset"] == preset
    assert load_torchscript(out).decode_grains(torch.zeros(1, 16)).shape == (1, 512)


def test_starting_over_an_existing_run_is_refused(trained_run, small_audio_folder, capsys):
    assert train_main(tiny_training_args(small_audio_folder, trained_run)) == 2
    assert "use --resume" in capsys.readouterr().err


def _train_command(data: Path, run: Path, *extra: str) -> list[str]:
    args = tiny_training_args(data, run, "--threads", "1", *extra)
    for flag, value in (("--steps", "150"), ("--checkpoint-every", "10"),
                        ("--eval-every", "75")):
        args[args.index(flag) + 1] = value
    return [sys.executable, "-m", "training", *args]


def test_resume_after_sigkill_reaches_the_same_weights(small_audio_folder, tmp_path):
    reference = tmp_path / "reference"
    subprocess.run(_train_command(small_audio_folder, reference), check=True,
                   capture_output=True, cwd=REPO)

    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(_train_command(small_audio_folder, interrupted),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    checkpoint = interrupted / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if checkpoint.exists() and load_checkpoint(checkpoint)["step"] >= 30:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed_at = load_checkpoint(checkpoint)["step"]
    assert 30 <= killed_at < 150, "the run was not interrupted in the middle"
    resumed = subprocess.run(
        # Same thread count: bit-exactness needs the same reduction order.
        [*_train_command(small_audio_folder, interrupted)[:4], "--run-dir", str(interrupted),
         "--resume", "--threads", "1"], capture_output=True, text=True, cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {interrupted} at step {killed_at}" in resumed.stderr

    expected = load_checkpoint(reference / "checkpoint.pt")
    actual = load_checkpoint(checkpoint)
    assert actual["step"] == 150
    for name, tensor in expected["model"].items():
        assert torch.equal(tensor, actual["model"][name]), name
    assert [r["loss"] for r in actual["history"]["train"]] == [
        r["loss"] for r in expected["history"]["train"]]


def test_resume_without_checkpoint_is_a_usage_error(tmp_path, capsys):
    assert train_main(["grains", "--run-dir", str(tmp_path / "none"), "--resume"]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_two_process_ddp_run_on_cpu(small_audio_folder, tmp_path):
    run = tmp_path / "ddp"
    args = tiny_training_args(small_audio_folder, run, "--threads", "1")
    args[args.index("--steps") + 1] = "6"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "training", *args],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("trained 6 steps") == 1, "only rank 0 reports and writes"
    state = load_checkpoint(run / "checkpoint.pt")
    assert state["world_size"] == 2 and state["step"] == 6
    assert state["history"]["examples"] == 6 * 16
    assert len(state["rng_states"]) == 2
    assert not list(run.glob(".*.tmp"))


def test_a_folder_left_by_a_failed_run_is_refused_then_overwritten(small_audio_folder, tmp_path,
                                                                   capsys):
    run = tmp_path / "poisoned"
    run.mkdir()
    (run / "config.json").write_text('{"data": "/elsewhere"}')  # failed before a checkpoint
    (run / "dataset.npz").write_bytes(b"the old data")
    assert train_main(tiny_training_args(small_audio_folder, run)) == 2
    assert "already holds a run; use --resume" in capsys.readouterr().err
    assert (run / "dataset.npz").read_bytes() == b"the old data"
    assert train_main([*tiny_training_args(small_audio_folder, run), "--overwrite"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == str(small_audio_folder.resolve())


def test_overwrite_deletes_only_run_folders(small_audio_folder, tmp_path, capsys):
    precious = tmp_path / "photos"
    precious.mkdir()
    (precious / "holiday.jpg").write_bytes(b"x")
    assert train_main([*tiny_training_args(small_audio_folder, precious), "--overwrite"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert (precious / "holiday.jpg").exists()


def test_resume_with_more_steps_trains_the_run_longer(trained_run, tmp_path, capsys):
    import shutil

    trained_run = Path(shutil.copytree(trained_run, tmp_path / "copy"))
    before = json.loads((trained_run / "config.json").read_text())["loop"]["steps"]
    assert train_main(["grains", "--run-dir", str(trained_run), "--resume", "--steps",
                       str(before + 4), "--threads", "1"]) == 0
    config = json.loads((trained_run / "config.json").read_text())
    assert config["loop"]["steps"] == before + 4
    assert config["resumed"][-1] == {"at_step": before, "steps": before + 4}
    assert load_checkpoint(trained_run / "checkpoint.pt")["step"] == before + 4
    assert export_main([str(trained_run), "--out", str(tmp_path / "longer.pt")]) == 0
    metadata = read_metadata(tmp_path / "longer.pt")
    assert metadata["training_steps"] == before + 4
    assert metadata["training_resumed"] == [{"at_step": before, "steps": before + 4}]
    assert train_main(["grains", "--run-dir", str(trained_run), "--resume", "--steps",
                       "1"]) == 2
    assert f"--steps 1 is below the checkpoint's step {before + 4}" in capsys.readouterr().err


def test_a_44_1_khz_model_trains_exports_and_plays(small_audio_folder, tmp_path):
    """The rate is the model's: the data is resampled to it, nn~ reads it from the file, and
    the synth plays its grains at a 48 kHz server rate."""
    run, out, render = tmp_path / "run", tmp_path / "grains44.pt", tmp_path / "played.wav"
    assert train_main(tiny_training_args(small_audio_folder, run, "--sample-rate", "44100")) == 0
    assert export_main([str(run), "--out", str(out)]) == 0
    metadata = read_metadata(out)
    assert metadata["sample_rate"] == 44100 and metadata["grain_size"] == 512
    model = load_torchscript(out)
    grains = model.decode_grains(torch.zeros(3, 16))
    assert tuple(grains.shape) == (3, 512) and torch.isfinite(grains).all()
    result = subprocess.run(
        [sys.executable, "-m", "synth", "--model", str(out), "--audio", "offline", "--render",
         str(render), "--duration", "2", "--no-voice", "--sr", "48000"],
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    audio, rate = soundfile.read(render)
    assert rate == 48000 and np.isfinite(audio).all()
    assert 20 * np.log10(np.sqrt(np.mean(audio[24000:] ** 2)) + 1e-12) > -70
