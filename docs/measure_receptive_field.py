"""How far the shipped Step 2 networks look: their effective receptive field, measured.

The gradient of one output pixel with respect to every input pixel (all channels, absolute,
summed) of a 201 x 201 px field, for the shipped regression UNet, S2 and S3 (diffusion models at a
middle noise level), and the share of it within a radius. Land-cover unmixing, for comparison,
fits each cell's class GPPs over a 5 x 5-cell neighbourhood: 2.5 km across, 42 px either side.
GroupNorm couples every pixel to the whole field a little, so the share reaches 1 only at the edge.

    python docs/measure_receptive_field.py     # seconds; prints a table, writes no file
"""

from __future__ import annotations

import numpy as np
import torch

from unique_core.downscale import registry

SIZE = 201
RADII_PX = (5, 10, 17, 25, 42, 50, 75, 100)


def gradient_share(name: str, seed: int = 0) -> list[float]:
    """Share of |d output(centre) / d input| within each radius of RADII_PX."""
    model = registry.load(name)
    net = model.net.eval()
    gen = torch.Generator().manual_seed(seed)
    x = (0.3 * torch.randn(1, net.inp.in_channels, SIZE, SIZE, generator=gen)).requires_grad_(True)
    if model.config.kind == "diffusion":  # the noisy residual and the conditioning, as model.py feeds them
        out = net(x, torch.full((1,), 500, dtype=torch.long))
    else:
        out = net(x)
    c = SIZE // 2
    out[0, 0, c, c].backward()
    g = x.grad.abs().sum(dim=1)[0].numpy()
    r = np.hypot(*np.meshgrid(np.arange(SIZE) - c, np.arange(SIZE) - c, indexing="ij"))
    return [float(g[r <= R].sum() / g.sum()) for R in RADII_PX]


def main() -> None:
    print("share of the input gradient within a radius (px of 30 m; 42 px = unmixing's half-window)")
    print("model       " + " ".join(f"{R:>6d}" for R in RADII_PX))
    for name in ("regression", "s2", "s3"):
        print(f"{name:<11} " + " ".join(f"{s:6.3f}" for s in gradient_share(name)))


if __name__ == "__main__":
    main()
