"""Step 2: conditional diffusion downscaling of GPP_M (500 m) to GPP_L-like 30 m maps."""
