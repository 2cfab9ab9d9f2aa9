"""What does GPP_M's change since the views say about S3's target? An exploration on the validation tiles.

    unique downscale data --scheme s3 --years 2020-2022   # the S3 shards (validation boxes included)
    python docs/explore_s3_change.py

On every S3 validation pair (a Landsat date, its scene withheld from the inputs) this scores, against
the withheld scene's GPP_L on its clear pixels (what a real-data user has; no test tile, no truth):

- the interpolated GPP_L S3 starts from;
- that GPP_L plus GPP_M's whole change since the views (today's GPP_M minus GPP_M interpolated from
  the views' own dates, S3's channel in S3 data v2): the change STARFM adds;
- that GPP_L plus GPP_M's vegetation change only: today's GPP_M minus GPP_M made with each view
  date's MODIS indices and *today's* weather, interpolated from the same views (S3's
  `gpp_m_view_vegetation` channel since S3 data v3, read from the shards);

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
from unique_core.world import World
from unique_core.world import climate as clim


def main() -> None:
    world, m_model = World(), load_model("modis")
    names = ("interpolated GPP_L", "+ GPP_M's whole change", "+ GPP_M's vegetation change")
    se = {(v, n): [0.0, 0] for v in D.VARIANTS for n in names}
    fit = {(v, n): np.zeros(3) for v in D.VARIANTS for n in names[1:]}
    for box, year in s3_boxes("validation"):
        gap = dt.timedelta(F.LANDSAT_MAX_GAP)
        times, _, clear = maps.landsat_stack(world, box, max(dt.date(year, 1, 1) - gap, dt.date(clim.FIRST_YEAR, 1, 1)),
                                             min(dt.date(year, 12, 31) + gap, dt.date(clim.LAST_YEAR, 12, 31)))
        vv = D.view_vegetation(world, box, times)
        # GPP_M on each acquisition's own date: its vegetation with its own weather
        own = np.stack([D.gpp_m_with_view_vegetation(m_model, world, vv, dt.date.fromordinal(int(t)),
                                                     np.arange(len(times)) == k)[1][0] for k, t in enumerate(times)])
        for s in D.load_s3_samples(world, [box], [year]):
            keep = D.withheld(times, s.date)
            for variant in D.VARIANTS:
                gl, gv_veg, _, _ = (a.astype(np.float32) for a in s.views[variant])  # S3's channel (data v3)
                gv = P.interpolated_on_views(times[keep], own[keep], clear[keep], s.date, variant)
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
