"""A compact conditional UNet: noisy residual + conditioning channels in, v (or a map) out.

Two downsamplings, residual blocks with GroupNorm and SiLU, a sinusoidal time embedding
that scales and shifts every block (FiLM). Without a time embedding the same network is the
deterministic regression baseline. Fully convolutional: any size divisible by 4.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, ch), ch)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, temb: int | None):
        super().__init__()
        self.norm1 = _norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = _norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.film = nn.Linear(temb, 2 * cout) if temb else None
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor | None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.norm2(h)
        if self.film is not None and emb is not None:
            scale, shift = self.film(emb)[:, :, None, None].chunk(2, dim=1)
            h = h * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return h + self.skip(x)


class UNet(nn.Module):
    def __init__(self, in_channels: int, out_channels: int = 1, base: int = 32, mults: tuple[int, ...] = (1, 2, 2),
                 time_embedding: bool = True):
        super().__init__()
        self.base = base
        self.temb_dim = 4 * base if time_embedding else None
        if time_embedding:
            self.temb = nn.Sequential(nn.Linear(base, self.temb_dim), nn.SiLU(), nn.Linear(self.temb_dim, self.temb_dim))
        self.inp = nn.Conv2d(in_channels, base, 3, padding=1)
        chans = [base * m for m in mults]
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = base
        skips = []
        for i, ch in enumerate(chans):
            self.down.append(ResBlock(c, ch, self.temb_dim))
            skips.append(ch)
            c = ch
            if i < len(chans) - 1:
                self.downsample.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
        self.mid1 = ResBlock(c, c, self.temb_dim)
        self.mid2 = ResBlock(c, c, self.temb_dim)
        self.up = nn.ModuleList()
        for i, ch in enumerate(reversed(chans)):
            self.up.append(ResBlock(c + skips[-1 - i], ch, self.temb_dim))
            c = ch
        self.out_norm = _norm(c)
        self.out = nn.Conv2d(c, out_channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    @property
    def divisor(self) -> int:
        return 2 ** len(self.downsample)

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.temb(timestep_embedding(t, self.base)) if self.temb_dim and t is not None else None
        h = self.inp(x)
        hs = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            hs.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid2(self.mid1(h, emb), emb)
        for block in self.up:
            skip = hs.pop()
            if h.shape[-2:] != skip.shape[-2:]:
                h = F.interpolate(h, size=skip.shape[-2:], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), emb)
        return self.out(F.silu(self.out_norm(h)))
