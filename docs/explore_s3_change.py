"""What does GPP_M's change since the views say about S3's target? An exploration on the validation tiles.

    unique downscale data --scheme s3 --years 2020-2022   # the S3 shards (validation boxes included)
    python docs/explore_s3_change.py

On every S3 validation pair (a Landsat date, its scene withheld from the inputs) this scores, against
the withheld scene's GPP_L on its clear pixels (what a real-data user has; no test tile, no truth):

- the interpolated GPP_L S3 starts from;
- that GPP_L plus GPP_M's whole change since the views (today's GPP_M minus GPP_M interpolated from
  the views' dates, S3's `gpp_m_views` channel): the change STARFM adds;
- that GPP_L plus GPP_M's vegetation change only: today's GPP_M minus GPP_M made with each view
  date's MODIS indices and *today's* weather, interpolated from the same views;

and, for each change, the least-squares factor on it and the share of the residual's variance it
explains. Prints a table; writes nothing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from unique_core import features as F
from unique_core.downscale import data as D
from unique_core.downscale import peers as P
from unique_core.downscale.pipeline import s3_boxes
from unique_core.gpp import maps
from unique_core.gpp.registry import load_model
from unique_core.grid import Region
from unique_core.world import World
from unique_core.world import climate as clim


def view_indices(world, box: Region, times: np.ndarray):
    """MODIS indices (smoothed, gap-filled) on each acquisition's date, on the box's 500 m grid + halo."""
    padded = Region(box.name, box.brow0 - 1, box.bcol0 - 1, box.nbrows + 2, box.nbcols + 2)
    observe, grid, fractions, elevation, land = maps.modis_observer(world, padded)
    first, last = dt.date.fromordinal(int(times.min())), dt.date.fromordinal(int(times.max()))
    pad = dt.timedelta(F.MODIS_MAX_GAP)
    lo, hi = max(first - pad, dt.date(clim.FIRST_YEAR, 1, 1)), min(last + pad, dt.date(clim.LAST_YEAR, 12, 31))
    days = [lo + dt.timedelta(k) for k in range((hi - lo).days + 1)]
    vis, clear = maps.modis_stack(observe, days)
    at = np.array([(dt.date.fromordinal(int(t)) - lo).days for t in times])
    out = {}
    for name, v in vis.items():
        out[name], gap = F.smooth_gapfill(v, clear, at=at)
    out["vi_gap_days"] = gap
    return out, grid, elevation, land, maps.pft_map(fractions)


def main() -> None:
    world, m_model = World(), load_model("modis")
    names = ("interpolated GPP_L", "+ GPP_M's whole change", "+ GPP_M's vegetation change")
    se = {(v, n): [0.0, 0] for v in D.VARIANTS for n in names}
    fit = {(v, n): np.zeros(3) for v in D.VARIANTS for n in names[1:]}
    for box, year in s3_boxes("validation"):
        gap = dt.timedelta(F.LANDSAT_MAX_GAP)
        times, _, clear = maps.landsat_stack(world, box, max(dt.date(year, 1, 1) - gap, dt.date(clim.FIRST_YEAR, 1, 1)),
                                             min(dt.date(year, 12, 31) + gap, dt.date(clim.LAST_YEAR, 12, 31)))
        vi, grid, elevation, land, pft = view_indices(world, box, times)
        for s in D.load_s3_samples(world, [box], [year]):
            met = maps.met_inputs(world, grid, elevation, s.date)
            veg = np.stack([D.upsample(np.where(land > 0.5, m_model.predict(
                {q: {**{n: vi[n][k] for n in vi}, **met, "pft": pft}[q] for q in m_model.features}).reshape(grid.shape),
                np.nan), box) for k in range(len(times))]).astype(np.float32)
            keep = D.withheld(times, s.date)
            for variant in D.VARIANTS:
                gl, gv, _, _ = (a.astype(np.float32) for a in s.views[variant])
                gv_veg = P.interpolated_on_views(times[keep], veg[keep], clear[keep], s.date, variant)
                ok = s.mask & np.isfinite(gl) & np.isfinite(gv) & np.isfinite(gv_veg)
                e = (s.gpp_l - gl)[ok].astype(np.float64)
                for name, x in ((names[0], None), (names[1], s.gpp_m_up - gv), (names[2], s.gpp_m_up - gv_veg)):
                    x = None if x is None else x[ok].astype(np.float64)
                    r = e if x is None else e - x
                    se[variant, name][0] += float((r * r).sum())
                    se[variant, name][1] += int(r.size)
                    if x is not None:
                        fit[variant, name] += [(x * e).sum(), (x * x).sum(), (e * e).sum()]
        print(f"{box.key} {year}: done", flush=True)
    print("\n| variant | map | RMSE vs the withheld GPP_L (gC m-2 d-1) | best factor on the change | variance explained |")
    print("| --- | --- | --- | --- | --- |")
    for (variant, name), (s2, n) in se.items():
        xe, xx, ee = fit.get((variant, name), (np.nan, np.nan, np.nan))
        extra = f"{xe / xx:.2f} | {xe * xe / xx / ee:.1%}" if (variant, name) in fit else " | "
        print(f"| {variant} | {name} | {(s2 / n) ** 0.5:.3f} | {extra} |")


if __name__ == "__main__":
    main()
