"""The downscaling models: a conditional diffusion model (S1, S2) and a regression baseline.

    model = Downscaler(DownscaleConfig(scheme="s2"))
    loss = model.loss(cond, residual, mask, generator)            # training
    x = model.sample(cond, noise_fn, steps=10)                    # DDIM, 10 steps
    model.save(folder); Downscaler.load(folder)                   # safetensors + config.json

Both predict the residual GPP_L - upsampled GPP_M (in units of RES_SCALE), as CorrDiff does:
the coarse map already holds the large scales, the model adds what 30 m reveals.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Literal

import torch
from safetensors.torch import load_file, save_file

from unique_core import __version__
from unique_core.atomic import atomic_path
from unique_core.downscale import data as D
from unique_core.downscale.schedule import NoiseSchedule
from unique_core.downscale.unet import UNet
from unique_core.errors import ModelError

# noise_fn(step_index, shape) -> a standard-normal tensor; step_index -1 is the initial noise
NoiseFn = Callable[[int, tuple[int, ...]], torch.Tensor]


@dataclass
class DownscaleConfig:
    scheme: D.Scheme = "s2"
    kind: Literal["diffusion", "regression"] = "diffusion"
    base: int = 16
    mults: tuple[int, ...] = (1, 2, 2)
    timesteps: int = 1000
    channels: tuple[str, ...] = field(default_factory=tuple)
    gpp_scale: float = D.GPP_SCALE
    res_scale: float = D.RES_SCALE
    data_version: str = D.DATA_VERSION
    # ensemble spread inflation fitted on the validation tiles (unique downscale calibrate); 1 = raw
    spread_scale: float = 1.0
    spread_calibration: dict = field(default_factory=dict)
    # the map the residual is added to: S3 "gpp_l" (interpolated GPP_L), "gpp_m" or "gpp_l_change";
    # S1/S2 "gpp_m" (bilinear GPP_M) or, S2 only, "unmix" (land-cover unmixing, also a channel)
    base_map: str = "gpp_m"

    def __post_init__(self):
        allowed = D.BASE_MAPS if self.scheme == "s3" else D.S2_BASE_MAPS if self.scheme == "s2" else ("gpp_m",)
        if self.base_map not in allowed:
            raise ValueError(f"{self.scheme.upper()} base map {self.base_map!r}: choose one of {', '.join(allowed)}")
        if not self.channels:
            self.channels = D.channels(self.scheme, self.base_map)
        self.mults = tuple(self.mults)
        self.channels = tuple(self.channels)

    @property
    def in_channels(self) -> int:
        return len(self.channels) + (1 if self.kind == "diffusion" else 0)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "DownscaleConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Downscaler(torch.nn.Module):
    def __init__(self, config: DownscaleConfig):
        super().__init__()
        self.config = config
        self.net = UNet(config.in_channels, 1, config.base, config.mults, time_embedding=config.kind == "diffusion")
        self.schedule = NoiseSchedule(config.timesteps)

    @property
    def divisor(self) -> int:
        return self.net.divisor

    # ------------------------------------------------------------------ training
    def loss(self, cond: torch.Tensor, residual: torch.Tensor, mask: torch.Tensor,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Masked mean-squared error: of v for diffusion, of the residual for regression."""
        m = mask.float()
        if self.config.kind == "regression":
            err = (self.net(cond) - residual) ** 2
        else:
            b = residual.shape[0]
            t = torch.randint(0, self.schedule.steps, (b,), generator=generator, device=residual.device)
            noise = torch.randn(residual.shape, generator=generator, device=residual.device)
            xt = self.schedule.add_noise(residual, noise, t)
            v = self.net(torch.cat([xt, cond], dim=1), t)
            err = (v - self.schedule.v_target(residual, noise, t)) ** 2
        return (err * m).sum() / m.sum().clamp(min=1.0)

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def sample(self, cond: torch.Tensor, noise_fn: NoiseFn, *, steps: int | None = 10,
               sampler: Literal["ddim", "ddpm"] = "ddim") -> torch.Tensor:
        """Residual samples (B, 1, H, W) for conditioning (B, C, H, W). H, W divisible by 4.

        steps=None with sampler 'ddpm' is the reference: ancestral sampling over all steps.
        """
        if self.config.kind == "regression":
            return self.net(cond)
        shape = (cond.shape[0], 1, *cond.shape[-2:])
        x = noise_fn(-1, shape)
        ts = self.schedule.timesteps(None if sampler == "ddpm" else steps)
        for k, t in enumerate(ts):
            tt = torch.full((shape[0],), t, dtype=torch.long)
            v = self.net(torch.cat([x, cond], dim=1), tt)
            if sampler == "ddpm":
                x = self.schedule.ddpm_step(v, t, x, noise_fn(k, shape) if t > 0 else torch.zeros(shape))
            else:
                x = self.schedule.ddim_step(v, t, ts[k + 1] if k + 1 < len(ts) else None, x)
        return x

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path, *, card: dict | None = None) -> Path:
        """weights.safetensors + config.json (+ card.json); each file written atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.net.state_dict().items()}
        with atomic_path(folder / "weights.safetensors") as tmp:
            save_file(state, str(tmp), metadata={"unique_version": __version__, "scheme": self.config.scheme,
                                                 "kind": self.config.kind})
        with atomic_path(folder / "config.json") as tmp:
            tmp.write_text(json.dumps({**self.config.to_json(), "unique_version": __version__}, indent=2))
        if card is not None:
            with atomic_path(folder / "card.json") as tmp:
                tmp.write_text(json.dumps(card, indent=2, default=str))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "Downscaler":
        folder = Path(folder)
        if not (folder / "config.json").exists() or not (folder / "weights.safetensors").exists():
            raise ModelError(f"{folder}: not a downscaling model (config.json and weights.safetensors needed); "
                             "train one with `unique downscale train --scheme s1|s2`")
        config = DownscaleConfig.from_json(json.loads((folder / "config.json").read_text()))
        model = cls(config)
        try:
            state = load_file(str(folder / "weights.safetensors"))
        except Exception as exc:
            raise ModelError(f"{folder / 'weights.safetensors'}: not readable safetensors ({exc})") from exc
        try:
            model.net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            raise ModelError(f"{folder}: the weights do not match config.json (scheme {config.scheme}, "
                             f"{len(config.channels)} channels, base {config.base}, mults {config.mults}): {first}") from exc
        model.eval()
        # channels_last weights: 15 % faster sampling on CPU than the default layout (bench_step2);
        # save() writes contiguous copies, so the files do not change.
        model.net.to(memory_format=torch.channels_last)
        return model
