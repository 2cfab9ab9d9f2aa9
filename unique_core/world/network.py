"""Write the simulated flux network to a folder, in the formats of real data.

The layout and the writers are those of unique_core.sources.sitefiles (site table, FLUXNET
DD files, AppEEARS, Earth Engine and ERA5-Land point extracts), plus manifest.json (seed,
version, counts). The same layout is what `unique_core.gpp` reads, so real FLUXNET/AppEEARS/
Earth Engine/ERA5 exports placed in this layout train the same models.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy.special import ndtri

from unique_core.atomic import write_text
from unique_core.config import cache_dir
from unique_core.qa import encode_landsat_qa, encode_modis_state
from unique_core.sources import sitefiles as files
from unique_core.world import climate as clim
from unique_core.world import noise, sensors
from unique_core.world.sites import (Site, network, point_clouds, site_weather, surface, tower_fluxes)

NETWORK_VERSION = "1"


def default_folder(seed: int = 2026) -> Path:
    return cache_dir() / f"flux-network-s{seed}-v{NETWORK_VERSION}"


def _landsat_schedule(site: Site, dates: list[dt.date]) -> list[tuple[int, str, int, int]]:
    """(index into dates, satellite, path, row) of every Landsat pass over a site abroad."""
    path = int(((180.0 - site.lon) % 360.0) / (360.0 / 233.0)) + 1
    row = int(np.clip((90.0 - site.lat) * 248.0 / 180.0 - 10, 1, 122))
    phase = (7 * path) % 16
    first = dt.date(2015, 1, 1) + dt.timedelta(days=phase)
    out = []
    for k, d in enumerate(dates):
        offset = (d - first).days
        if offset % 16 == 0:
            out.append((k, "LC08", path, row))
        elif offset % 16 == 8 and d >= sensors.L9_START:
            out.append((k, "LC09", path, row))
    return out


def _point_sensors(site: Site, dates, cover, refl_pixel, refl_cell, water: bool, seed: int):
    """MODIS and Landsat observations of one point, with clouds drawn like the maps' cloud field."""
    u = point_clouds(site.site_id, dates, cover, seed)
    field = ndtri(np.clip(u, 1e-6, 1 - 1e-6))  # the day's cloud field at the point, N(0, 1)
    u2 = point_clouds(site.site_id + "/shadow", dates, cover, seed)
    shadow_field = ndtri(np.clip(u2, 1e-6, 1 - 1e-6))
    thr = sensors.cloud_threshold(cover)
    # MODIS (500 m cell)
    cloudy = field > thr + 0.25
    mixed = (field > thr - 0.35) & ~cloudy
    adjacent = (field > thr - 0.6) & ~cloudy & ~mixed
    mshadow = (shadow_field > thr) & ~cloudy & ~mixed
    cycle = np.array([(d.toordinal() % 16) / 16.0 for d in dates])
    view = 1.0 + 0.04 * np.sin(2 * np.pi * cycle)[None] * np.array([1.0, 1.0, 1.0, 1.2, 0.8, 0.7])[:, None]
    rng = np.random.default_rng(noise.derive_seed(seed, f"site.sensor.{site.site_id}"))
    m = refl_cell * view * (1 + rng.normal(0, 0.02, refl_cell.shape)) + rng.normal(0, 0.004, refl_cell.shape)
    cloud_r = np.clip(0.40 + 0.12 * (field - thr), 0.30, 0.75)[None] * np.array([1, 1, 1, 0.95, 0.8, 0.65])[:, None]
    m = np.where(cloudy[None], cloud_r, m)
    frac = np.clip((field - thr + 0.35) / 0.6, 0, 1)[None]
    m = np.where(mixed[None], (1 - 0.6 * frac) * m + 0.6 * frac * cloud_r, m)
    m = np.where(mshadow[None], 0.45 * m, m)
    modis_dn = {b: np.clip(np.round(m[i] / sensors.MODIS_SCALE), -100, 16000).astype(int)
                for i, b in enumerate(files.BANDS)}
    state = encode_modis_state(cloudy=cloudy, mixed=mixed, shadow=mshadow, adjacent=adjacent, water=water)
    # Landsat (30 m pixel)
    lthr = sensors.cloud_threshold(sensors.landsat_cover(cover))
    lcloud = field > lthr
    dilated = (field > lthr - sensors.DILATED_BAND) & ~lcloud
    lshadow = (shadow_field > lthr) & ~lcloud & ~dilated
    lrefl = refl_pixel + rng.normal(0, 0.004, refl_pixel.shape)
    lcloud_r = np.clip(0.42 + 0.12 * (field - lthr), 0.35, 0.75)[None] * np.array([1, 1, .98, .95, .8, .65])[:, None]
    lrefl = np.where(lcloud[None], lcloud_r, lrefl)
    lrefl = np.where(dilated[None], 0.7 * lrefl + 0.3 * lcloud_r, lrefl)
    lrefl = np.where(lshadow[None], 0.35 * lrefl, lrefl)
    qa = encode_landsat_qa(cloud=lcloud, dilated=dilated, shadow=lshadow, water=water)
    ldn = np.clip(np.round((lrefl - sensors.L2_OFFSET) / sensors.L2_SCALE), 1, 65535).astype(int)
    return modis_dn, state, ldn, qa


def site_series(site: Site, seed: int) -> dict:
    """Every day 2015-2023 at a site abroad: weather, true GPP, MODIS and Landsat observations."""
    w = site_weather(site, seed)
    dates = list(w["date"])
    tower = surface(site, w, "tower", seed)
    cell = surface(site, w, "cell", seed)
    modis_dn, state, ldn, qa = _point_sensors(site, dates, w["cloud"], tower["reflectance"],
                                              cell["reflectance"], False, seed)
    landsat = [{"date": dates[k], "satellite": sat, "path": path, "row": row,
                **{c: ldn[i, k] for i, c in enumerate(files.LANDSAT_COLS.values())}, "QA_PIXEL": qa[k]}
               for k, sat, path, row in _landsat_schedule(site, dates)]
    return {"dates": dates, "weather": w, "gpp_true": tower["gpp"], "modis_dn": modis_dn,
            "modis_state": state, "landsat": landsat}


def korean_series(site: Site, world) -> dict:
    """Every day 2015-2023 at a Korean tower, read from the simulated Korea (towers = maps)."""
    from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Region, from_lonlat
    from unique_core.sources.fields import HALO_BLOCKS

    x, y = from_lonlat(site.lon, site.lat)
    bcol = int((x - FRAME_XMIN) // 1500.0)
    brow = int((FRAME_YMAX - y) // 1500.0)
    region = Region(site.site_id, brow, bcol, 1, 1)
    pr = int((FRAME_YMAX - y) // 30.0) - region.fine.row0
    pc = int((x - FRAME_XMIN) // 30.0) - region.fine.col0
    cr = int((FRAME_YMAX - y) // 500.0) - region.coarse.row0
    cc = int((x - FRAME_XMIN) // 500.0) - region.coarse.col0
    st = world.static(region)
    sc = world.static_coarse(region, halo_blocks=HALO_BLOCKS)
    dates = [dt.date(clim.FIRST_YEAR, 1, 1) + dt.timedelta(k)
             for k in range((dt.date(clim.LAST_YEAR, 12, 31) - dt.date(clim.FIRST_YEAR, 1, 1)).days + 1)]
    keys = ("tmean", "tmin", "tmax", "vpd", "sw", "precip", "cloud")
    w = {k: np.empty(len(dates)) for k in keys}
    w["ea"] = np.empty(len(dates))
    gpp = np.empty(len(dates))
    modis_dn = {b: np.empty(len(dates), int) for b in files.BANDS}
    state = np.empty(len(dates), int)
    acq = {}
    for year in range(clim.FIRST_YEAR, clim.LAST_YEAR + 1):
        for d, sat, path in world.landsat_dates(region, year):
            acq[d] = (sat, path)
    landsat = []
    win = (slice(max(pr - 1, 0), pr + 2), slice(max(pc - 1, 0), pc + 2))  # the tower's ~90 m footprint
    for k, d in enumerate(dates):
        day = world.day(region, d)
        for key in keys:
            w[key][k] = float(getattr(day, key)[pr, pc])
        w["sw"][k] = float(day.sw_reanalysis[pr, pc])  # what a reanalysis gives, not the shaded 30 m value
        w["ea"][k] = float(clim.saturation_vapour_pressure(day.tmean[pr, pc]) - day.vpd[pr, pc])
        gpp[k] = float(day.gpp[win].mean())
        m = world.modis(region, d, static=sc)
        for b, name in zip(files.BANDS, sensors.MODIS_BANDS):
            modis_dn[b][k] = int(m[name][cr, cc])
        state[k] = int(m["state_1km"][cr, cc])
        if d in acq:
            scene = world.landsat(region, d)
            if scene is not None and scene["QA_PIXEL"][pr, pc] != 1:
                row = {"date": d, "satellite": acq[d][0], "path": acq[d][1], "row": 34}
                row.update({c: int(scene[c][pr, pc]) for c in files.LANDSAT_COLS.values()})
                row["QA_PIXEL"] = int(scene["QA_PIXEL"][pr, pc])
                landsat.append(row)
    w["beta"] = clim.soil_water(w["precip"][:, None], w["tmean"][:, None], w["sw"][:, None])[0][:, 0]
    w["sw_clear"] = np.zeros(len(dates))
    w["date"] = np.array(dates)
    w["doy"] = np.array([d.timetuple().tm_yday for d in dates], float)
    elevation = float(st.elevation[pr, pc])
    return {"dates": dates, "weather": w, "gpp_true": gpp, "modis_dn": modis_dn, "modis_state": state,
            "landsat": landsat, "elevation": elevation}


def _tower_elevation(world, site: Site) -> float:
    from unique_core.grid import FRAME_XMIN, FRAME_YMAX, Grid, from_lonlat

    x, y = from_lonlat(site.lon, site.lat)
    cell = Grid(30.0, int((FRAME_YMAX - y) // 30.0), int((x - FRAME_XMIN) // 30.0), 1, 1)
    return round(float(world.terrain.elevation(cell)[0, 0]), 0)


def _fluxnet_values(site: Site, weather: dict, fluxes: dict, sel: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(noise.derive_seed(seed, f"site.tower.{site.site_id}"))
    n = int(sel.sum())
    w = {k: np.asarray(v)[sel] for k, v in weather.items() if k not in ("date",)}
    offset = rng.normal(0, 0.4)
    ta = w["tmean"] + offset + rng.normal(0, 0.35, n)
    dtr = w["tmax"] - w["tmin"]
    pa = 101.325 * np.exp(-site.elevation / 8434.0)
    sw_pot = clim.toa_daily_mean(np.full(n, site.lat), w["doy"])
    out = {
        "TA_F": ta, "TA_F_QC": np.clip(rng.beta(12, 1, n), 0, 1), "TA_ERA": w["tmean"],
        "TA_F_DAY": ta + 0.25 * dtr, "TA_F_NIGHT": ta - 0.3 * dtr,
        "TA_ERA_DAY": w["tmean"] + 0.25 * dtr, "TA_ERA_NIGHT": w["tmean"] - 0.3 * dtr,
        "SW_IN_POT": sw_pot, "SW_IN_F": w["sw"] * rng.normal(1.0, 0.04, n), "SW_IN_F_QC": np.clip(rng.beta(12, 1, n), 0, 1),
        "SW_IN_ERA": w["sw"], "VPD_F": np.clip(w["vpd"] * rng.normal(1.0, 0.08, n), 0, None),
        "VPD_F_QC": np.clip(rng.beta(12, 1, n), 0, 1), "VPD_ERA": w["vpd"],
        "PA_F": np.full(n, pa), "PA_ERA": np.full(n, pa), "P_F": w["precip"], "P_ERA": w["precip"],
        "WS_F": np.clip(rng.gamma(3.0, 0.9, n), 0.2, None), "USTAR": np.clip(rng.gamma(4.0, 0.08, n), 0.02, None),
        "NETRAD": 0.62 * w["sw"] - 28.0, "PPFD_IN": 2.11 * w["sw"],
        "SWC_F_MDS_1": 8.0 + 32.0 * w["beta"], "TS_F_MDS_1": pd.Series(w["tmean"]).rolling(10, min_periods=1).mean().to_numpy(),
    }
    for k, v in fluxes.items():
        out[k] = np.asarray(v)[sel]
    out["NEE_CUT_REF"] = out["NEE_VUT_REF"] * rng.normal(1.0, 0.02)
    out["NEE_CUT_REF_QC"] = out["NEE_VUT_REF_QC"]
    out["GPP_NT_CUT_REF"] = out["GPP_NT_VUT_REF"] * rng.normal(1.0, 0.02)
    out["GPP_DT_CUT_REF"] = out["GPP_DT_VUT_REF"] * rng.normal(1.0, 0.02)
    return out


def write_site(folder: Path, site: Site, series: dict, seed: int) -> None:
    dates = series["dates"]
    years = np.array([d.year for d in dates])
    sel = (years >= site.first_year) & (years <= site.last_year)
    weather = series["weather"]
    fluxes = tower_fluxes(site, series["gpp_true"], weather, seed)
    kept = [d for d, s in zip(dates, sel) if s]
    files.write_fluxnet_dd(folder / "fluxnet" / files.file_name(site.site_id, site.first_year, site.last_year),
                             _fluxnet_values(site, weather, fluxes, sel, seed), kept)
    w = {k: np.asarray(v)[sel] for k, v in weather.items() if k != "date"}
    files.write_era5land_point(folder / "era5land" / f"{site.site_id}_ERA5-Land_daily.csv", kept, w["tmean"],
                                  w["tmin"], w["tmax"], w["ea"], w["sw"], w["precip"])
    files.write_modis_extract(folder / "modis" / f"{site.site_id}_MOD09GA-061-results.csv", site.site_id,
                                 site.lat, site.lon, kept, {b: v[sel] for b, v in series["modis_dn"].items()},
                                 series["modis_state"][sel])
    rows = [r for r in series["landsat"] if site.first_year <= r["date"].year <= site.last_year]
    files.write_landsat_extract(folder / "landsat" / f"{site.site_id}_LANDSAT_C02_T1_L2.csv", site.site_id, rows)


def build_network(folder: str | Path | None = None, *, seed: int = 2026, n_sites: int | None = None,
                  korean: bool = True, progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Write the network to `folder`; resumable, site by site.

    `n_sites` keeps a subset (about a tenth Korean, unless `korean` is False): small networks
    for tests and quick looks.
    """
    from unique_core.world import World

    folder = Path(folder) if folder else default_folder(seed)
    sites = network(seed)
    if n_sites is not None or not korean:
        n = n_sites or len(sites)
        kr = [s for s in sites if s.korean][: (max(1, n // 10) if korean else 0)]
        abroad = [s for s in sites if not s.korean]
        # spread the subset over plant types rather than taking the first of one type
        abroad = sorted(abroad, key=lambda s: (abroad.index(s) % 7, abroad.index(s)))
        sites = tuple(kr + abroad[: n - len(kr)])
    world = World(seed)
    rows = []
    for i, site in enumerate(sites):
        if site.korean:
            site = Site(**{**site.__dict__, "elevation": _tower_elevation(world, site)})
        done = (folder / "fluxnet" / files.file_name(site.site_id, site.first_year, site.last_year)).exists() \
            and (folder / "landsat" / f"{site.site_id}_LANDSAT_C02_T1_L2.csv").exists()
        if not done:  # the Landsat file is written last: a site is complete when it exists
            series = korean_series(site, world) if site.korean else site_series(site, seed)
            write_site(folder, site, series, seed)
        rows.append({"site_id": site.site_id, "name": site.name, "lat": site.lat, "lon": site.lon,
                     "elevation_m": site.elevation, "igbp": site.igbp, "crop": "rice" if site.pft == "RICE" else "",
                     "first_year": site.first_year, "last_year": site.last_year, "korean": site.korean})
        if progress:
            progress(i + 1, len(sites), site.site_id)
    write_text(folder / "sites.csv", pd.DataFrame(rows, columns=files.SITE_TABLE_COLUMNS).to_csv(index=False))
    write_text(folder / "manifest.json", json.dumps({"seed": seed, "version": NETWORK_VERSION, "sites": len(rows),
                                                     "kind": "simulated flux network (UNIQUE embedded default)"},
                                                    indent=2))
    return folder
