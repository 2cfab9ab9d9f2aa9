"""Figures and maps: builders that return figures or images, never call streamlit."""
