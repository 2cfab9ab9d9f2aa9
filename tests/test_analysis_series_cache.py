"""A cached regional GPP_M series that was cut or garbled is quarantined and made again (issue 13 §1)."""

from __future__ import annotations

import datetime as dt

from unique_core import analysis
from unique_core.products import ProductService


def test_gpp_m_series__a_cut_cache_file_is_remade(small_region, tmp_path):
    svc = ProductService(tmp_path / "products")
    start, end = dt.date(2023, 6, 1), dt.date(2023, 6, 6)
    first = analysis.timeseries(svc, "gpp_m", small_region, start, end)
    (path,) = (tmp_path / "products" / "series").glob("gpp_m_*.csv")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # a write cut half-way: fewer rows, still parseable
    again = analysis.timeseries(svc, "gpp_m", small_region, start, end)
    assert len(again) == len(first) == 6
    assert again["all"].round(6).tolist() == first["all"].round(6).tolist()
    assert list(tmp_path.rglob("quarantine/*gpp_m_*.csv"))  # moved aside, with the reason logged
