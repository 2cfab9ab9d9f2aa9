"""Which packages the wheel holds; everything else is in pyproject.toml.

Every `unique_core` package on disk is found automatically (a new subpackage cannot be left
out of the wheel), plus the two folders pyproject.toml maps into it: assets/ as
`unique_core._assets` and the app (app.py, pages/, static/, .streamlit/) as `unique_core._app`.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["unique_core", "unique_core.*"]) + ["unique_core._assets", "unique_core._app"])
