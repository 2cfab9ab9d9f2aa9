"""UNIQUE's shipped data, installed as the package `unique_core._assets` (see pyproject.toml).

This file exists only so that importlib.resources finds the folder in an editable install;
read the files through unique_core.resources, never by a path relative to the source tree.
"""
