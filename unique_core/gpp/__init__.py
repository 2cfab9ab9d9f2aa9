"""Step 1: daily GPP from satellite indices and meteorology (GPP_M from MODIS, GPP_L from Landsat)."""
