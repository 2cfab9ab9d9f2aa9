"""UNIQUE: daily 30 m gross primary productivity of South Korea."""

__version__ = "0.1.0"
