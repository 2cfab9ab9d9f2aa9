"""Raster layers rendered to PNG pictures with a colour bar (or legend) and units."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from unique_core.atomic import atomic_path  # noqa: E402
from unique_core.viz.style import style_for  # noqa: E402


def render_png(da: xr.DataArray, path: str | os.PathLike | None = None, *, title: str = "",
               categories: tuple[tuple[str, str], ...] | None = None, hillshade: np.ndarray | None = None,
               note: str = "Simulated data (UNIQUE embedded default)", dpi: int = 110) -> bytes:
    """Draw a 2-D DataArray in metres of EPSG:5179, with a colour bar or a legend; return PNG bytes.

    `categories`: (name, colour) per class value 1..n (0 is drawn transparent). A `hillshade`
    (same shape, 0-1) is blended under continuous layers.
    """
    values = np.asarray(da.values, dtype=float)
    x, y = da["x"].values / 1000.0, da["y"].values / 1000.0
    extent = (x[0] - (x[1] - x[0]) / 2, x[-1] + (x[1] - x[0]) / 2,
              y[-1] - (y[0] - y[1]) / 2, y[0] + (y[0] - y[1]) / 2)
    aspect = values.shape[0] / values.shape[1]
    fig, ax = plt.subplots(figsize=(7.2, max(3.0, 6.0 * aspect) + 0.6))
    if categories:
        colours = ["#00000000"] + [c for _, c in categories]
        cmap = ListedColormap(colours)
        norm = BoundaryNorm(np.arange(-0.5, len(colours) + 0.5), cmap.N)
        ax.imshow(np.where(np.isnan(values), 0, values), cmap=cmap, norm=norm, extent=extent,
                  interpolation="nearest")
        present = {int(v) for v in np.unique(values[~np.isnan(values)]) if v > 0}
        handles = [Patch(facecolor=c, edgecolor="0.4", label=n)
                   for i, (n, c) in enumerate(categories, start=1) if i in present]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    else:
        style = style_for(str(da.name or ""))
        if hillshade is not None:
            ax.imshow(hillshade, cmap="gray", extent=extent, vmin=0, vmax=1, interpolation="bilinear")
        im = ax.imshow(np.ma.masked_invalid(values), cmap=style.cmap, vmin=style.vmin, vmax=style.vmax,
                       extent=extent, interpolation="nearest", alpha=0.8 if hillshade is not None else 1.0)
        bar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
        bar.set_label(style.label if style.label != str(da.name) else f"{da.name} ({da.attrs.get('units', '')})")
    ax.set_xlabel("easting (km, EPSG:5179)")
    ax.set_ylabel("northing (km, EPSG:5179)")
    ax.set_title(title or str(da.attrs.get("long_name", da.name)), fontsize=10)
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, color="0.35")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    data = buf.getvalue()
    if path is not None:
        with atomic_path(Path(path), suffix=".png") as tmp:
            tmp.write_bytes(data)
    return data

