"""One exception tree for every error a user can cause.

Each message says what was wrong and how to fix it; the CLI prints it and the app shows
it, never a traceback.
"""

from __future__ import annotations


class UniqueError(Exception):
    """Base class of every error UNIQUE raises on purpose."""


class RegionError(UniqueError, ValueError):
    """A region or bounding box that is not usable (outside Korea, at sea, too large)."""


class DateError(UniqueError, ValueError):
    """A date outside the data's range or in the wrong format."""


class DataError(UniqueError, ValueError):
    """Input data that is missing, malformed or inconsistent (columns, CRS, files)."""


class ModelError(UniqueError, RuntimeError):
    """A model that is missing, untrained or does not match its configuration."""


class ProductError(UniqueError, ValueError):
    """An unknown product, or one that cannot be made for the date and region asked."""


class StorageError(UniqueError, RuntimeError):
    """A write refused by the storage (disk full, quota, read-only or non-writable folder)."""
