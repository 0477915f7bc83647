"""The default grain preset, trained briefly on a small real folder and exported, must beat
PCA-16 fitted on the same grains, scored the same way on held-out files."""

import shutil

import numpy as np
import torch

from synth.contract.torchscript import load_torchscript
from tests.audio_fixtures import SONIC_PI_SAMPLES
from training.cli import export_main, train_main
from training.grains.evaluation import evaluate_codec
from training.grains.pca import PCACodec
from training.grains.run import load_run_dataset

# Pitched, noisy and percussive recordings of a few seconds each; the split by file (seed 0)
# holds out 3 of them.
FOLDER = ("ambi_drone.flac", "ambi_piano.flac", "bass_voxy_c.flac", "bass_thick_c.flac",
          "drum_roll.flac", "guit_e_fifths.flac", "guit_harmonics.flac", "loop_amen_full.flac",
          "loop_compus.flac", "perc_bell.flac", "tabla_ghe5.flac", "misc_cineboom.flac")


def test_default_preset_exported_beats_pca_on_held_out_files(tmp_path):
    data, run, out = tmp_path / "data", tmp_path / "run", tmp_path / "grains.pt"
    data.mkdir()
    for name in FOLDER:
        shutil.copy(SONIC_PI_SAMPLES / name, data / name)
    assert train_main(["grains", "--data", str(data), "--run-dir", str(run), "--steps", "500",
                       "--batch-size", "64", "--eval-every", "500", "--checkpoint-every",
                       "500", "--test-fraction", "0.25", "--threads", "1"]) == 0
    assert export_main([str(run), "--out", str(out)]) == 0
    model = load_torchscript(out)

    def exported(grains: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            latents = model.encode_grains(torch.from_numpy(np.ascontiguousarray(grains)))
            return model.decode_grains(latents).numpy()

    dataset = load_run_dataset(run)
    ours = evaluate_codec(exported, dataset)
    pca = evaluate_codec(PCACodec(16).fit(dataset.train_grains).reconstruct, dataset)
    for scope in ("grain", "file"):
        assert ours[scope]["lsd_db"] < 0.9 * pca[scope]["lsd_db"], (scope, ours, pca)
    assert ours["quiet_frames"]["within_6_db"] >= 0.9, ours["quiet_frames"]
    assert ours["silence"]["decoded_rms_db"] < -100
