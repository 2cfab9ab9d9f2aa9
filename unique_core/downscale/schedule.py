"""The noise schedule and the samplers' update rules, separate from the network.

A schedule holds no weights and knows nothing about the network (as in diffusers'
schedulers): `add_noise` makes training inputs, `v_target` the training target, and
`ddpm_step` / `ddim_step` take a model output and return the next, less noisy sample.
The network predicts v (Salimans & Ho 2022), which keeps few-step DDIM sampling stable.
Quantities are computed in float64 and handed out as float32 tensors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def cosine_alpha_bar(t: np.ndarray, s: float = 0.008) -> np.ndarray:
    """The cosine schedule's cumulative signal level (Nichol & Dhariwal 2021), t in [0, 1]."""
    f = np.cos((t + s) / (1 + s) * math.pi / 2) ** 2
    return f / (np.cos(s / (1 + s) * math.pi / 2) ** 2)


@dataclass
class NoiseSchedule:
    """T discrete steps; alpha_bar[t] is the signal share at step t (t = 0 is nearly clean)."""

    steps: int = 1000

    def __post_init__(self):
        t = np.arange(self.steps + 1, dtype=np.float64) / self.steps
        ab = cosine_alpha_bar(t)
        betas = np.clip(1 - ab[1:] / ab[:-1], 0.0, 0.999)
        self.betas64 = betas
        self.alpha_bar64 = np.cumprod(1.0 - betas)
        self.alpha_bar = torch.tensor(self.alpha_bar64, dtype=torch.float32)

    def _ab(self, t: torch.Tensor) -> torch.Tensor:
        return self.alpha_bar.to(t.device)[t].view(-1, 1, 1, 1)

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self._ab(t)
        return ab.sqrt() * x0 + (1 - ab).sqrt() * noise

    def v_target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = self._ab(t)
        return ab.sqrt() * noise - (1 - ab).sqrt() * x0

    def predict_x0_eps(self, v: torch.Tensor, xt: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ab = self._ab(t)
        x0 = ab.sqrt() * xt - (1 - ab).sqrt() * v
        eps = (1 - ab).sqrt() * xt + ab.sqrt() * v
        return x0, eps

    def timesteps(self, k: int | None) -> list[int]:
        """The steps a sampler visits, from noisiest to cleanest: all of them, or k spread evenly."""
        if k is None or k >= self.steps:
            return list(range(self.steps - 1, -1, -1))
        return [int(round(x)) for x in np.linspace(self.steps - 1, 0, k)]

    def ddim_step(self, v: torch.Tensor, t: int, t_prev: int | None, xt: torch.Tensor) -> torch.Tensor:
        """Deterministic DDIM update (eta = 0) from step t to t_prev (None: to the clean sample)."""
        tt = torch.full((xt.shape[0],), t, dtype=torch.long, device=xt.device)
        x0, eps = self.predict_x0_eps(v, xt, tt)
        if t_prev is None or t_prev < 0:
            return x0
        ab_prev = float(self.alpha_bar64[t_prev])
        return math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps

    def ddpm_step(self, v: torch.Tensor, t: int, xt: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Ancestral DDPM update from step t to t - 1 (posterior mean plus posterior noise)."""
        tt = torch.full((xt.shape[0],), t, dtype=torch.long, device=xt.device)
        x0, _ = self.predict_x0_eps(v, xt, tt)
        if t == 0:
            return x0
        ab_t, ab_prev = self.alpha_bar64[t], self.alpha_bar64[t - 1]
        beta = self.betas64[t]
        c0 = math.sqrt(ab_prev) * beta / (1 - ab_t)
        ct = math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab_t)
        var = beta * (1 - ab_prev) / (1 - ab_t)
        return c0 * x0 + ct * xt + math.sqrt(var) * noise
