"""Drawing a class from logits in torch: the one Gumbel-max draw of every torch generator
and every exported (TorchScript) bank. The synth's own banks draw in numpy
(synth/voicebank/sampling.py)."""

from __future__ import annotations

import torch


def gumbel_max(logits: torch.Tensor, uniform: torch.Tensor, temperature: float) -> torch.Tensor:
    """A class per row of ``logits`` [..., classes], drawn from softmax(logits / temperature)
    with the uniform noise ``uniform`` (same shape) by the Gumbel-max trick."""
    gumbel = torch.log(-torch.log(uniform.clamp_min(1e-12)))
    return torch.argmax(logits / temperature - gumbel, dim=-1)
