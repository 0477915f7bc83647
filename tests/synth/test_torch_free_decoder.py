"""The decoding worker decodes the shipped grains without torch: a level-shape grain file
carries its decoder's weights as numpy arrays, and files without them (older exports, the
convolutional VAE) still decode, through TorchScript."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from synth.contract.model_file import ModelFileError
from synth.contract.module_weights import ModuleWeights, read_module_weights
from synth.contract.torchscript import load_torchscript
from synth.grains.decode_worker import open_grain_decoder
from synth.grains.decoder import GrainDecoder
from synth.grains.level_shape_decoder import LevelShapeDecoder
from synth.shipped import DEFAULT_MODEL
from tests.jack_harness import REPO

WORKER_DECODES = f"""
import sys
import numpy as np
from synth.grains.decode_worker import open_grain_decoder
decode = open_grain_decoder({str(DEFAULT_MODEL)!r})
grains = decode(np.zeros((4, 16), dtype=np.float32))
print(grains.shape[1], float(np.sqrt(np.mean(grains ** 2))), "torch" in sys.modules)
"""


def _latents(count: int = 64) -> np.ndarray:
    """Points over the whole latent space, levels from below the floor to above 0 dBFS."""
    rng = np.random.default_rng(3)
    latents = rng.standard_normal((count, 16)).astype(np.float32) * 2
    latents[:, 0] = np.linspace(-5.0, 3.0, count)  # -140 .. +20 dBFS
    return latents


def _without_weights(source: Path, target: Path) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if not item.filename.endswith("/extra/weights.npz"):
                new.writestr(item, old.read(item.filename))


def test_the_shipped_grains_decode_without_importing_torch():
    result = subprocess.run([sys.executable, "-c", WORKER_DECODES], capture_output=True,
                            text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    grain_size, level, torch_imported = result.stdout.split()
    assert int(grain_size) == 512
    assert 1e-3 < float(level) < 1.0, "the latent origin decodes to a sound"
    assert torch_imported == "False"


def test_numpy_decoding_is_the_torchscript_decoding():
    latents = _latents()
    with torch.inference_mode():
        expected = load_torchscript(DEFAULT_MODEL).decode_grains(torch.from_numpy(latents))
    decoded = open_grain_decoder(str(DEFAULT_MODEL))(latents)
    assert decoded.dtype == np.float32 and decoded.shape == (64, 512)
    np.testing.assert_allclose(decoded, expected.numpy(), atol=2e-5, rtol=0)
    floor = latents[:, 0] <= (-120 + 40) / 20
    assert floor.sum() == 8 and not decoded[floor].any(), "the level floor decodes to silence"
    assert np.abs(decoded[~floor]).max(axis=1).min() > 0
    assert np.abs(decoded[-1]).max() == 1.0, "a level above 0 dBFS is clipped, as in torch"


def test_the_file_carries_only_the_decoder_and_its_constants():
    weights = read_module_weights(DEFAULT_MODEL)
    assert weights is not None
    assert weights.state_dict() and all(name.startswith("vae.decoder")
                                        for name in weights.state_dict())
    assert (weights.level_dims, weights.level_floor_db, weights.level_centre_db,
            weights.level_unit_db) == (1, -120.0, -40.0, 20.0)


def test_a_grain_file_without_numpy_weights_decodes_the_same_through_torch(tmp_path):
    older = tmp_path / "older.pt"
    _without_weights(DEFAULT_MODEL, older)
    assert read_module_weights(older) is None
    latents = _latents()
    np.testing.assert_allclose(open_grain_decoder(str(older))(latents),
                               open_grain_decoder(str(DEFAULT_MODEL))(latents), atol=2e-5)


def test_weights_of_another_decoder_are_not_read_as_level_shape():
    conv = ModuleWeights({"vae.decoder.0.weight": np.zeros((1, 16, 13), np.float32)},
                         {"level_dims": 0})
    assert not LevelShapeDecoder.reads(conv)
    assert LevelShapeDecoder.reads(read_module_weights(DEFAULT_MODEL))


def test_a_file_whose_program_is_broken_is_refused_although_its_weights_read(tmp_path):
    broken = tmp_path / "broken.pt"
    with zipfile.ZipFile(DEFAULT_MODEL) as old, zipfile.ZipFile(broken, "w") as new:
        for item in old.infolist():
            if not item.filename.endswith("data.pkl"):
                new.writestr(item, old.read(item.filename))
    with pytest.raises(ModelFileError, match=r"TorchScript cannot load it \(no archive/data.pkl"):
        open_grain_decoder(str(broken))
    damaged = tmp_path / "damaged.pt"
    data = bytearray(DEFAULT_MODEL.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"TorchScript cannot load it \(.* is damaged\)"):
        open_grain_decoder(str(damaged))


def test_the_running_worker_maps_no_torch_and_runs_one_blas_thread():
    decoder = GrainDecoder(str(DEFAULT_MODEL), slot_samples=8192, hop=256)
    try:
        assert decoder.wait_ready()
        decoder.submit(_latents(16)[4:])  # above the level floor
        tables: list[np.ndarray] = []
        decoder.wait(lambda table: tables.append(table.copy()))
        assert np.sqrt(np.mean(tables[0] ** 2)) > 1e-3
        pid = decoder.worker_pid
        maps = Path(f"/proc/{pid}/maps").read_text()
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    finally:
        decoder.close()
    assert "libtorch" not in maps
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "1")  # a setting of one's own is kept
    assert f"OPENBLAS_NUM_THREADS={threads}".encode() in environment
