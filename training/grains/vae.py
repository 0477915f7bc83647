"""The grain VAE: a 1-D convolutional variational autoencoder over 512-sample grains."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ConvStackSpec:
    """One convolutional stack: ``channels`` has one more entry than the other lists."""

    channels: tuple[int, ...]
    kernels: tuple[int, ...]
    strides: tuple[int, ...]


PROTOTYPE_ENCODER = ConvStackSpec(channels=(1, 64, 32, 16, 1), kernels=(5, 8, 10, 13),
                                  strides=(1, 2, 4, 4))
PROTOTYPE_DECODER = ConvStackSpec(channels=(1, 16, 32, 64, 1), kernels=(13, 10, 8, 5),
                                  strides=(4, 4, 2, 1))


def _conv_padding(kernel: int, stride: int) -> int:
    # Smallest padding for which an input of length L (a multiple of stride) gives L / stride.
    return (kernel - stride + 1) // 2


def _transposed_padding(kernel: int, stride: int) -> tuple[int, int]:
    # padding, output_padding such that length L becomes exactly L * stride.
    excess = kernel - stride
    padding = (excess + 1) // 2
    return padding, 2 * padding - excess


class GrainVAE(nn.Module):
    """Convolutional VAE mapping a grain to a ``latent_dim``-dimensional Gaussian and back.

    Reading of the prototype's table: the encoder is four Conv1d layers with channels
    1-64-32-16-1, kernels 5/8/10/13 and strides 1/2/4/4, so a 512-sample grain becomes one
    channel of 512 / 32 = 16 steps: the 16 latent dimensions are those 16 steps. The last
    layer is duplicated into two heads of the same shape, one for the mean and one for the
    log-variance; BatchNorm + ReLU follow the three hidden layers but not the heads (a ReLU
    would forbid negative means). The decoder mirrors it with ConvTranspose1d layers
    1-16-32-64-1, kernels 13/10/8/5, strides 4/4/2/1, BatchNorm + ReLU after the hidden
    layers and tanh on the output, so grains lie in [-1, 1]. Paddings are chosen so every
    layer divides (or multiplies) the length by exactly its stride.
    """

    def __init__(
        self,
        *,
        grain_size: int = 512,
        encoder: ConvStackSpec = PROTOTYPE_ENCODER,
        decoder: ConvStackSpec = PROTOTYPE_DECODER,
    ) -> None:
        super().__init__()
        total_stride = 1
        for stride in encoder.strides:
            total_stride *= stride
        if grain_size % total_stride:
            raise ValueError(f"grain_size {grain_size} is not a multiple of {total_stride}")
        self.grain_size = grain_size
        self.level_dims = 0  # every latent dimension is learned (see LevelShapeVAE)
        self.latent_steps = grain_size // total_stride
        self.latent_channels = encoder.channels[-1]
        self.latent_dim = self.latent_steps * self.latent_channels
        self.encoder_body = _encoder_layers(encoder)
        last_in, last_out = encoder.channels[-2], encoder.channels[-1]
        kernel, stride = encoder.kernels[-1], encoder.strides[-1]
        pad = _conv_padding(kernel, stride)
        self.mean_head = nn.Conv1d(last_in, last_out, kernel, stride, pad)
        self.logvar_head = nn.Conv1d(last_in, last_out, kernel, stride, pad)
        if decoder.channels[0] != self.latent_channels:
            raise ValueError("decoder must start with the encoder's latent channels")
        self.decoder = _decoder_layers(decoder)

    def encode(self, grains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grains [B, grain_size] -> (mean, log-variance), each [B, latent_dim]."""
        hidden = self.encoder_body(grains.unsqueeze(1))
        mean = self.mean_head(hidden).flatten(1)
        logvar = self.logvar_head(hidden).flatten(1).clamp(-30.0, 20.0)
        return mean, logvar

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents [B, latent_dim] -> grains [B, grain_size] in [-1, 1]."""
        shaped = latents.reshape(latents.shape[0], self.latent_channels, self.latent_steps)
        return self.decoder(shaped).squeeze(1)

    def forward(self, grains: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction with a reparameterised sample, plus the posterior (mean, logvar)."""
        mean, logvar = self.encode(grains)
        sample = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        return self.decode(sample), mean, logvar


def _encoder_layers(spec: ConvStackSpec) -> nn.Sequential:
    layers: list[nn.Module] = []
    hidden = len(spec.kernels) - 1
    for index in range(hidden):
        kernel, stride = spec.kernels[index], spec.strides[index]
        layers += [
            nn.Conv1d(spec.channels[index], spec.channels[index + 1], kernel, stride,
                      _conv_padding(kernel, stride)),
            nn.BatchNorm1d(spec.channels[index + 1]),
            nn.ReLU(),
        ]
    return nn.Sequential(*layers)


def _decoder_layers(spec: ConvStackSpec) -> nn.Sequential:
    layers: list[nn.Module] = []
    count = len(spec.kernels)
    for index in range(count):
        kernel, stride = spec.kernels[index], spec.strides[index]
        padding, output_padding = _transposed_padding(kernel, stride)
        layers.append(nn.ConvTranspose1d(spec.channels[index], spec.channels[index + 1], kernel,
                                         stride, padding, output_padding))
        if index < count - 1:
            layers += [nn.BatchNorm1d(spec.channels[index + 1]), nn.ReLU()]
    layers.append(nn.Tanh())
    return nn.Sequential(*layers)
