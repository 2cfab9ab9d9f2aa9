"""Worker-side work of the Map page that is more than one product (no streamlit here: workers import it).

The region's static layers (DEM and land cover) are one job: both are cut from the region's
30 m static layers, which one process computes once and keeps in memory, while two jobs in two
processes computed them twice, side by side, on the same cores as the first GPP product.
"""

from __future__ import annotations

from unique_core.grid import Region

STATIC_LAYERS = ("landcover", "dem")  # what a region's map shows before any product is made


def make_statics(source: str, region: Region, *, progress_file: str) -> float:
    """Make the region's STATIC_LAYERS one after the other in this worker; returns the seconds taken."""
    from unique_core.ui.jobs import make_product

    return sum(make_product(source, layer, None, region, None, progress_file=progress_file)
               for layer in STATIC_LAYERS)


def make_cube_maps(store: str, *, progress_file: str) -> float:
    """Sum a region-year cube's days into its annual and seasonal maps (unique_core.cube.cube_maps: COGs
    beside the store, where the Map page reads them); returns the seconds taken."""
    import time

    from unique_core.cube import cube_maps

    t0 = time.time()
    cube_maps(store)  # one pass over the days: no steps to report (the page's bar says "starting")
    return time.time() - t0
