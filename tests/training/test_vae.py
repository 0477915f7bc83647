import pytest
import torch
from torch import nn

from training.grains.vae import PROTOTYPE_DECODER, PROTOTYPE_ENCODER, GrainVAE


def test_prototype_table_is_what_the_model_builds():
    model = GrainVAE()
    convs = [m for m in model.encoder_body if isinstance(m, nn.Conv1d)] + [model.mean_head]
    assert [c.in_channels for c in convs] + [convs[-1].out_channels] == [1, 64, 32, 16, 1]
    assert [c.kernel_size[0] for c in convs] == [5, 8, 10, 13]
    assert [c.stride[0] for c in convs] == [1, 2, 4, 4]
    deconvs = [m for m in model.decoder if isinstance(m, nn.ConvTranspose1d)]
    assert [d.in_channels for d in deconvs] + [1] == list(PROTOTYPE_DECODER.channels)
    assert [d.kernel_size[0] for d in deconvs] == [13, 10, 8, 5]
    assert [d.stride[0] for d in deconvs] == [4, 4, 2, 1]
    assert isinstance(model.decoder[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 6
    assert PROTOTYPE_ENCODER.channels == (1, 64, 32, 16, 1)


def test_shapes_and_output_range():
    model = GrainVAE()
    assert model.latent_dim == 16
    grains = torch.randn(5, 512)
    reconstruction, mean, logvar = model(grains)
    assert reconstruction.shape == (5, 512) and mean.shape == logvar.shape == (5, 16)
    decoded = model.decode(torch.randn(3, 16) * 50)
    assert decoded.shape == (3, 512) and decoded.abs().max() <= 1.0


def test_grain_size_must_divide_by_total_stride():
    with pytest.raises(ValueError, match="multiple of 32"):
        GrainVAE(grain_size=500)


def test_level_shape_keeps_the_level_apart_and_silence_silent():
    from training.grains.level_shape import LevelShapeVAE

    model = LevelShapeVAE().eval()
    t = torch.arange(512) / 16000
    tone = torch.sin(2 * torch.pi * 440 * t)
    grains = torch.stack([tone * 0.5, tone * 0.005, torch.zeros(512)])
    with torch.no_grad():
        mean, logvar = model.encode(grains)
        decoded = model.decode(mean)
    assert mean.shape == logvar.shape == (3, 16)
    level_db = 10 * torch.log10(grains.square().mean(-1) + 1e-12)
    assert torch.allclose(mean[:2, 0], (level_db[:2] + 40) / 20, atol=1e-4)
    decoded_db = 10 * torch.log10(decoded.square().mean(-1) + 1e-30)
    assert torch.allclose(decoded_db[:2], level_db[:2], atol=0.1)  # an untrained shape, exact level
    assert decoded[2].abs().max() == 0.0
    assert (logvar[:, 0] == -30).all()
    scripted = torch.jit.script(model)
    assert torch.equal(scripted.decode(mean), decoded)
