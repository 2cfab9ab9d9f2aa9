"""Make the figures and statistics of docs/world.md from the simulated world.

    python docs/make_world_figures.py        # ~5 min after the country cache (`unique world cache`)

Writes docs/figures/world/*.png and docs/figures/world/stats.json.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap, LightSource  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from unique_core.atomic import atomic_path, write_text  # noqa: E402
from unique_core.grid import FRAME, get_region  # noqa: E402
from unique_core.landcover import CLASSES, KEYS, class_index  # noqa: E402
from unique_core.qa import landsat_clear  # noqa: E402
from unique_core.world import World  # noqa: E402
from unique_core.world import climate as clim  # noqa: E402
from unique_core.world import sensors  # noqa: E402

OUT = Path(__file__).parent / "figures" / "world"
YEAR = 2023
NOTE = "Simulated data (UNIQUE embedded default, seed 2026)"


def _save(fig, name):
    OUT.mkdir(parents=True, exist_ok=True)
    fig.text(0.01, 0.005, NOTE, fontsize=7, color="0.35")
    with atomic_path(OUT / name) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    print("wrote", OUT / name)


def _extent_km(grid):
    x0, y0, x1, y1 = grid.bounds
    return (x0 / 1e3, x1 / 1e3, y0 / 1e3, y1 / 1e3)


def country_hillshade(world: World) -> None:
    sc = world.static_coarse_country()
    elev = np.where(sc.land > 0.5, sc.elevation, np.nan)
    ls = LightSource(azdeg=315, altdeg=40)
    filled = np.nan_to_num(elev, nan=0.0)
    shade = ls.hillshade(filled, vert_exag=4, dx=500, dy=500)
    fig, ax = plt.subplots(figsize=(7.5, 8))
    ax.imshow(shade, cmap="gray", extent=_extent_km(FRAME.coarse))
    im = ax.imshow(np.ma.masked_invalid(elev), cmap="terrain", vmin=0, vmax=1900, alpha=0.55,
                   extent=_extent_km(FRAME.coarse))
    fig.colorbar(im, ax=ax, fraction=0.04, label="elevation (m)")
    ax.set_title("Simulated South Korea: elevation over hillshade (500 m means of the 30 m DEM)")
    ax.set_xlabel("easting (km, EPSG:5179)")
    ax.set_ylabel("northing (km, EPSG:5179)")
    ax.set_facecolor("#dde8f0")
    fig.tight_layout()
    _save(fig, "country_hillshade.png")


def region_hillshade(world: World, name: str) -> None:
    r = get_region(name)
    g = r.fine
    elev = world.terrain.elevation(g)
    ls = LightSource(azdeg=315, altdeg=45)
    fig, ax = plt.subplots(figsize=(7, 6.5))
    ax.imshow(ls.hillshade(elev, vert_exag=1.5, dx=30, dy=30), cmap="gray", extent=_extent_km(g))
    im = ax.imshow(elev, cmap="terrain", vmin=0, vmax=1950, alpha=0.45, extent=_extent_km(g))
    fig.colorbar(im, ax=ax, fraction=0.045, label="elevation (m)")
    ax.set_title(f"{r.title}: 30 m DEM and hillshade")
    ax.set_xlabel("easting (km, EPSG:5179)")
    ax.set_ylabel("northing (km, EPSG:5179)")
    fig.tight_layout()
    _save(fig, f"hillshade_{name}.png")


def landcover_region(world: World, name: str) -> dict:
    r = get_region(name)
    st = world.static(r)
    sub = r.subregion(8, 8, 2, 2)
    st5 = world.static(sub, with_5m=True)
    cmap = ListedColormap(["#ffffff"] + [c.colour for c in CLASSES])
    norm = BoundaryNorm(np.arange(-0.5, len(CLASSES) + 1.5), cmap.N)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.6), gridspec_kw={"width_ratios": [1, 1]})
    axes[0].imshow(st.landcover, cmap=cmap, norm=norm, extent=_extent_km(r.fine), interpolation="nearest")
    x0, y0, x1, y1 = sub.bounds
    axes[0].add_patch(plt.Rectangle((x0 / 1e3, y0 / 1e3), (x1 - x0) / 1e3, (y1 - y0) / 1e3, fill=False, color="k"))
    axes[0].set_title(f"{r.title}: dominant class of each 30 m pixel")
    axes[1].imshow(st5.landcover_5m, cmap=cmap, norm=norm, extent=_extent_km(sub.fine), interpolation="nearest")
    axes[1].set_title("the boxed 3 x 3 km at 5 m (fractions are counts of these cells)")
    for ax in axes:
        ax.set_xlabel("easting (km, EPSG:5179)")
    axes[0].set_ylabel("northing (km, EPSG:5179)")
    handles = [Patch(facecolor=c.colour, edgecolor="0.4", label=c.name) for c in CLASSES]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    _save(fig, f"landcover_{name}.png")
    return {k: round(float(v), 3) for k, v in zip(KEYS, st.fractions[:, st.land].mean(axis=1))}


def country_gpp(world: World) -> dict:
    sc = world.static_coarse_country()
    land = sc.land > 0.5
    fig, axes = plt.subplots(1, 2, figsize=(13, 7.2))
    out = {}
    for ax, date in zip(axes, (dt.date(YEAR, 1, 15), dt.date(YEAR, 7, 15))):
        day = world.day_country(date)
        gpp = np.where(land, day.gpp, np.nan)
        im = ax.imshow(np.ma.masked_invalid(gpp), cmap="YlGn", vmin=0, vmax=15, extent=_extent_km(FRAME.coarse))
        ax.set_facecolor("#dde8f0")
        ax.set_title(f"true GPP at 500 m, {date:%d %B %Y} (mean {np.nanmean(gpp):.2f})")
        ax.set_xlabel("easting (km, EPSG:5179)")
        out[date.isoformat()] = round(float(np.nanmean(gpp)), 3)
    axes[0].set_ylabel("northing (km, EPSG:5179)")
    fig.colorbar(im, ax=axes, fraction=0.025, label="GPP (gC m$^{-2}$ d$^{-1}$)")
    _save(fig, "country_gpp_jan_jul.png")
    return out


def landsat_scene(world: World) -> dict:
    r = get_region("gwangneung")
    best = None
    for date, sat, path in world.landsat_dates(r, YEAR):
        if not (dt.date(YEAR, 4, 15) <= date <= dt.date(YEAR, 6, 20)):
            continue
        cover = float(clim.interpolate(world.climate.day(date)["cloud"], clim.lattice_weights(r.coarse)).mean())
        if 0.25 < cover < 0.6:
            best = (date, sat, path)
            break
    date = best[0] if best else world.landsat_dates(r, YEAR)[30][0]
    scene = world.landsat(r, date)
    red = scene["SR_B4"] * sensors.L2_SCALE + sensors.L2_OFFSET
    nir = scene["SR_B5"] * sensors.L2_SCALE + sensors.L2_OFFSET
    ndvi = (nir - red) / np.maximum(nir + red, 1e-6)
    clear = landsat_clear(scene["QA_PIXEL"])
    rgb = np.stack([scene[b] * sensors.L2_SCALE + sensors.L2_OFFSET for b in ("SR_B4", "SR_B3", "SR_B2")], -1)
    rgb = np.clip(rgb / 0.25, 0, 1) ** 0.8
    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    axes[0].imshow(rgb, extent=_extent_km(r.fine))
    axes[0].set_title(f"{scene['satellite']} path {scene['path']}, {date}: true colour (clouds and shadows)")
    im = axes[1].imshow(np.where(clear, ndvi, np.nan), cmap="RdYlGn", vmin=-0.2, vmax=1, extent=_extent_km(r.fine))
    axes[1].set_title(f"NDVI where QA_PIXEL is clear ({clear.mean():.0%} of pixels)")
    fig.colorbar(im, ax=axes[1], fraction=0.045, label="NDVI (unitless)")
    for ax in axes:
        ax.set_xlabel("easting (km, EPSG:5179)")
    axes[0].set_ylabel("northing (km, EPSG:5179)")
    fig.tight_layout()
    _save(fig, "landsat_scene.png")
    return {"date": date.isoformat(), "clear_fraction": round(float(clear.mean()), 3)}


def seasonal_curves(world: World) -> dict:
    """Daily true GPP and NDVI of pure pixels of each class, in several regions, through YEAR."""
    picks = {"gwangneung": (8, 8), "haenam": (10, 10), "gimje": (9, 9), "jirisan": (7, 7),
             "seoul_edge": (6, 15), "nakdong_daegu": (9, 9), "jeju": (8, 8)}
    regions = [get_region(n).subregion(a, b, 3, 3) for n, (a, b) in picks.items()]
    classes = ["deciduous", "coniferous", "mixed", "paddy", "field", "grassland", "wetland", "urban"]
    days = [dt.date(YEAR, 1, 1) + dt.timedelta(d) for d in range(365)]
    gpp = {c: np.zeros(365) for c in classes}
    ndvi = {c: np.zeros(365) for c in classes}
    count = {c: 0 for c in classes}
    masks = []
    for r in regions:
        st = world.static(r)
        masks.append({c: st.fractions[class_index(c)] >= 0.999 for c in classes})
    for i, d in enumerate(days):
        for r, m in zip(regions, masks):
            day = world.day(r, d)
            nd = day.ndvi
            for c in classes:
                if m[c].any():
                    gpp[c][i] += day.gpp[m[c]].sum()
                    ndvi[c][i] += nd[m[c]].sum()
                    if i == 0:
                        count[c] += int(m[c].sum())
    stats = {}
    fig, axes = plt.subplots(2, 1, figsize=(11, 8), sharex=True)
    colours = {c.key: c.colour for c in CLASSES}
    kernel = np.ones(7) / 7
    for c in classes:
        if count[c] == 0:
            continue
        g = gpp[c] / count[c]
        n = ndvi[c] / count[c]
        axes[0].plot(np.convolve(g, kernel, mode="same"), color=colours[c], label=c, lw=1.8)
        axes[1].plot(n, color=colours[c], label=c, lw=1.2)
        jja = slice(151, 243)
        stats[c] = {"pixels": count[c], "annual_gpp_gC_m2": round(float(g.sum()), 0),
                    "peak_gpp_7day": round(float(np.convolve(g, kernel, mode="same").max()), 2),
                    "ndvi_summer": round(float(n[jja].mean()), 3), "ndvi_january": round(float(n[:31].mean()), 3)}
    axes[0].set_ylabel("true GPP, 7-day mean (gC m$^{-2}$ d$^{-1}$)")
    axes[1].set_ylabel("true NDVI (unitless)")
    axes[1].set_xlabel(f"day of year {YEAR}")
    axes[0].legend(ncol=4, fontsize=8)
    axes[0].set_title("Seasonal course of pure 30 m pixels of each class (7 sample regions)")
    fig.tight_layout()
    _save(fig, "seasonal_gpp_by_class.png")
    return stats


def climate_stats(world: World) -> dict:
    places = {"Seoul": (126.98, 37.57), "Busan": (129.08, 35.18), "Jeju": (126.53, 33.50),
              "Gangneung": (128.90, 37.75), "Daegu": (128.60, 35.87)}
    out = {}
    c = world.climate
    for name, (lon, lat) in places.items():
        i = int(round((lat - clim.LAT0) / clim.STEP))
        j = int(round((lon - clim.LON0) / clim.STEP))
        t_jan, t_aug, p, jja = [], [], [], []
        for year in range(clim.FIRST_YEAR, clim.LAST_YEAR + 1):
            y = c.year(year)
            days = [dt.date(year, 1, 1) + dt.timedelta(k) for k in range(len(y["tmean"]))]
            months = np.array([d.month for d in days])
            # station-height temperature: lattice value moved to sea level, as normals are ~near sea level
            tsl = y["tmean"][:, i, j] + clim.LAPSE * c.orography[i, j]
            t_jan.append(tsl[months == 1].mean())
            t_aug.append(tsl[months == 8].mean())
            pr = y["precip"][:, i, j]
            p.append(pr.sum())
            jja.append(pr[(months >= 6) & (months <= 8)].sum() / pr.sum())
        out[name] = {"jan_mean_C": round(float(np.mean(t_jan)), 1), "aug_mean_C": round(float(np.mean(t_aug)), 1),
                     "precip_mm": round(float(np.mean(p))), "jja_share": round(float(np.mean(jja)), 2),
                     "precip_range_mm": [round(float(min(p))), round(float(max(p)))]}
    # cloud cover by month over land, and Changma lengths
    land = c.land_share > 0.5
    cloud_by_month = np.zeros(12)
    n = np.zeros(12)
    for year in range(clim.FIRST_YEAR, clim.LAST_YEAR + 1):
        y = c.year(year)
        days = [dt.date(year, 1, 1) + dt.timedelta(k) for k in range(len(y["cloud"]))]
        for k, d in enumerate(days):
            cloud_by_month[d.month - 1] += y["cloud"][k][land].mean()
            n[d.month - 1] += 1
    out["cloud_cover_by_month"] = [round(float(v), 2) for v in cloud_by_month / n]
    out["changma_days"] = {y: cm.end_doy - cm.onset_doy for y, cm in c.changma.items()}
    return out


def main() -> None:
    world = World()
    stats = {}
    country_hillshade(world)
    for name in ("seoraksan", "jirisan", "gimje"):
        region_hillshade(world, name)
    stats["landcover_regions"] = {n: landcover_region(world, n) for n in ("gwangneung", "haenam")}
    stats["country_gpp_means"] = country_gpp(world)
    stats["landsat_scene"] = landsat_scene(world)
    stats["classes"] = seasonal_curves(world)
    stats["climate"] = climate_stats(world)
    OUT.mkdir(parents=True, exist_ok=True)
    write_text(OUT / "stats.json", json.dumps(stats, indent=2, default=str))
    print(json.dumps(stats, indent=2, default=str))


if __name__ == "__main__":
    main()
