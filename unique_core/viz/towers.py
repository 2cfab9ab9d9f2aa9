"""The Korean flux towers of a region, each with a pop-up chart: tower GPP against GPP_M there."""

from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np

from unique_core.errors import UniqueError
from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Region, from_lonlat


def towers_of(region: Region) -> list[tuple[str, str, float, float, str]]:
    """(code, name, lon, lat, pft) of the Korean towers inside the region."""
    from unique_core.world.sites import KOREAN_SITES

    x0, y0, x1, y1 = region.bounds
    out = []
    for code, name, lon, lat, pft in KOREAN_SITES:
        x, y = from_lonlat(lon, lat)
        if x0 <= x < x1 and y0 <= y < y1:
            out.append((code, name, lon, lat, pft))
    return out


def all_towers() -> list[tuple[str, str, float, float, str]]:
    from unique_core.world.sites import KOREAN_SITES

    return list(KOREAN_SITES)


def tower_markers(region: Region, note: str = "") -> list[dict]:
    """Markers without charts (instant): lat, lon, name, popup_html."""
    return [{"lat": lat, "lon": lon, "name": f"{code} ({name})", "popup_html": f"<b>{code}</b> {name}<br>{note}"}
            for code, name, lon, lat, _ in towers_of(region)]


def tower_popups(world, region: Region, year: int) -> list[dict]:
    """Markers with a chart each of the year: GPP_M at the tower's 500 m cell and the tower's
    QC-passed daily GPP (gC m-2 d-1). Makes a year of GPP_M per tower: run it in a worker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from unique_core.gpp.maps import gpp_m_series
    from unique_core.gpp.registry import load_model
    from unique_core.io.fluxnet import read_fluxnet
    from unique_core.world.network import default_folder

    folder = default_folder()
    out = []
    for code, name, lon, lat, _ in towers_of(region):
        x, y = from_lonlat(lon, lat)
        html = f"<b>{code}</b> {name}<br>"
        files = sorted((folder / "fluxnet").glob(f"FLX_{code}_*.csv"))
        try:
            tower = read_fluxnet(files[0]) if files else None
            cell = Region(code, int((FRAME_YMAX - y) // 1500), int((x - FRAME_XMIN) // 1500), 1, 1)
            series, days = gpp_m_series(load_model("modis"), world, cell, dt.date(year, 1, 1), dt.date(year, 12, 31))
            r, c = int((FRAME_YMAX - y) // 500) - cell.coarse.row0, int((x - FRAME_XMIN) // 500) - cell.coarse.col0
            fig, ax = plt.subplots(figsize=(4.4, 2.2), dpi=90)
            ax.plot(days, series[:, r, c], color="#2e7d32", lw=1.2, label="GPP_M at the tower (500 m)")
            if tower is not None:
                t = tower[(tower["qc_pass"]) & (np.array([d.year for d in tower["date"]]) == year)]
                ax.plot(t["date"], t["gpp"], ".", ms=2.5, color="#333", label="tower GPP (QC passed)")
            else:
                html += "<i>no tower file in the simulated network folder yet (`unique world network`)</i><br>"
            ax.set_ylabel("GPP (gC m⁻² d⁻¹)", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.legend(fontsize=6, loc="upper left")
            fig.tight_layout()
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            plt.close(fig)
            html += f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}" width="400">'
        except UniqueError as exc:
            html += f"<i>{exc}</i>"
        out.append({"lat": lat, "lon": lon, "name": f"{code} ({name})", "popup_html": html})
    return out
