"""The seam between the two sources of data and the rest of UNIQUE.

    world/ (the simulation)        io/ (real files: RealDataSource)
              \\                          /
               implement  DataSource (protocol)
                          |
     products.py, gpp/ (Step 1 maps), downscale/ (Step 2), cube.py

`world/` and `io/` never import each other; both import only this package for what they share:

- `protocol`: DataSource, the members the maps, the downscaler and the product service use.
- `fields`: what a source hands out (Static, StaticCoarse, Day) and the exact 500 m aggregation.
- `lattice`: the 0.1 degree reanalysis lattice both put their daily meteorology on.
- `physics`: saturation vapour pressure, sunshine, the soil-water bucket, slope and hillshade.
- `formats`: the encodings of the observations they return (C2 L2 DNs, MOD09GA integers).
- `sitefiles`: the flux-network folder (site table, FLUXNET DD, point extracts) and its writers.
"""

from unique_core.sources.fields import HALO_BLOCKS, Day, Static, StaticCoarse, aggregate_static, pad_coarse
from unique_core.sources.protocol import DataSource, missing_members

__all__ = ["DataSource", "missing_members", "Static", "StaticCoarse", "Day", "aggregate_static", "pad_coarse",
           "HALO_BLOCKS"]
