"""Loss terms for the grain VAE."""

from __future__ import annotations

import torch


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) summed over latent dimensions, averaged over the batch."""
    return 0.5 * torch.mean(torch.sum(mean.square() + logvar.exp() - 1.0 - logvar, dim=1))


def squared_error(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error summed over a grain's samples, averaged over the batch.

    Summing over samples makes this the Gaussian negative log-likelihood (up to scale), so
    ``squared_error + beta * gaussian_kl`` is the beta-weighted ELBO.
    """
    return torch.mean(torch.sum((reconstruction - target).square(), dim=1))


def multi_resolution_stft_loss(
    reconstruction: torch.Tensor,
    target: torch.Tensor,
    fft_sizes: tuple[int, ...] = (64, 128, 256, 512),
) -> torch.Tensor:
    """Spectral convergence + log-magnitude L1, averaged over several STFT resolutions."""
    total = reconstruction.new_zeros(())
    for fft_size in fft_sizes:
        window = torch.hann_window(fft_size, device=target.device, dtype=target.dtype)
        spectra = [
            torch.stft(signal, fft_size, hop_length=fft_size // 4, window=window,
                       return_complex=True, center=True, pad_mode="constant").abs()
            for signal in (reconstruction, target)
        ]
        estimate, reference = spectra
        convergence = torch.linalg.vector_norm(reference - estimate, dim=(-2, -1)) / (
            torch.linalg.vector_norm(reference, dim=(-2, -1)) + 1e-7
        )
        log_distance = torch.mean(
            torch.abs(torch.log(reference + 1e-5) - torch.log(estimate + 1e-5)), dim=(-2, -1)
        )
        total = total + convergence.mean() + log_distance.mean()
    return total / len(fft_sizes)


def level_normalised_error(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error with both grains divided by the target's RMS: a quiet grain's
    waveform counts as much as a loud one's."""
    rms = torch.sqrt(target.square().mean(dim=-1, keepdim=True) + 1e-12)
    return torch.mean(((reconstruction - target) / rms).square())


def log_spectral_distance_loss(reconstruction: torch.Tensor, target: torch.Tensor,
                               power_floor: float = 1e-8) -> torch.Tensor:
    """The evaluation's per-grain log-spectral distance (dB, one Hann-windowed frame per
    grain, the same power floor), averaged over the batch."""
    window = torch.hann_window(target.shape[-1], periodic=True, device=target.device,
                               dtype=target.dtype)
    scale = window.sum() / 2.0
    powers = [(torch.fft.rfft(signal * window) / scale).abs().square()
              for signal in (reconstruction, target)]
    estimate, reference = (torch.log10(power + power_floor) for power in powers)
    difference = 10.0 * (reference - estimate)
    return torch.sqrt(difference.square().mean(dim=-1) + 1e-6).mean()
