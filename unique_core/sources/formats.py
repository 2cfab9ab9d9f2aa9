"""How a source hands out satellite observations: the encodings of the real products.

Both sources return Landsat scenes as Collection 2 Level-2 digital numbers and MODIS days as
MOD09GA scaled integers, so one decoder (here and in unique_core.qa) serves both:

- Landsat: SR_B2..SR_B7 (uint16), reflectance = DN * L2_SCALE + L2_OFFSET, DN L2_FILL where
  there is no data; QA_PIXEL bits as unique_core.qa decodes them.
- MODIS: sur_refl_b01..b07 (int16), reflectance = value * MODIS_SCALE, MODIS_FILL where
  there is no data; state_1km bits as unique_core.qa decodes them.
"""

from __future__ import annotations

L2_SCALE, L2_OFFSET = 0.0000275, -0.2  # Collection 2 Level-2 surface reflectance
L2_FILL = 0
MODIS_SCALE = 0.0001
MODIS_FILL = -28672

# blue, green, red, nir, swir1, swir2 in each sensor's band names
LANDSAT_BANDS = ("SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7")
MODIS_BANDS = ("sur_refl_b03", "sur_refl_b04", "sur_refl_b01", "sur_refl_b02", "sur_refl_b06", "sur_refl_b07")
