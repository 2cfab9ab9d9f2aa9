"""Text the app shows about its data (kept here so pages stay short)."""

DATA_SIMULATED = """
**What you are looking at.** UNIQUE ships an embedded default: a deterministic, simulated South Korea
(seed 2026). Its terrain, land cover (generated at 5 m), daily weather (2015-2023, 0.1°), phenology and
"true" GPP are made by a model; MODIS-like (500 m, daily) and Landsat-like (30 m, 16-day; Landsat 9 from
2022) sensors observe it with clouds, shadows and noise, and a network of 309 simulated flux towers
(five in Korea, read from the same simulated country) is written in FLUXNET2015 format. None of it is an
observation of the real country. Because the truth is known, the app can show how far each map is from it.

See docs/world.md for how the world is made and how it compares with published facts.
"""

DATA_REAL = """
**Real data.** This app was started with `UNIQUE_DATA_DIR` pointing at a folder of real files laid out as
docs/real-data.md describes (FLUXNET daily files, MODIS and Landsat scenes, ERA5-Land, a DEM and a
land-cover map). Products are made from those files with the same models and code as the simulated default.
"""

REAL_DATA_HOWTO = """
To use real data, lay out your files as docs/real-data.md describes, check them with
`unique ingest check DIR`, and start the app with `UNIQUE_DATA_DIR=DIR make run`.
A browser user can never choose a server folder: whoever starts the app sets it.
"""
