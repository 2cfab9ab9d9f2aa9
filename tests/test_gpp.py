"""Step 1 on a small simulated network: features, spatial folds, training, save/load, maps."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from unique_core.errors import ModelError
from unique_core.features import feature_names, interpolate_acquisitions, smooth_gapfill
from unique_core.gpp.cv import cross_validate, site_clusters, spatial_folds
from unique_core.gpp.data import training_table
from unique_core.gpp.model import GppModel


def test_training_table__features_and_qc(mini_network, modis_table):
    assert set(feature_names("modis")) <= set(modis_table.columns)
    assert modis_table["site_id"].nunique() == 24
    assert 0.3 < modis_table["qc_pass"].mean() < 0.9
    ok = modis_table[modis_table["qc_pass"]]
    assert ok["ndvi"].notna().mean() > 0.8  # gap filling leaves few holes
    assert (ok["gpp"] >= 0).all()
    landsat = training_table(mini_network, "landsat")
    assert landsat["days_since_clear"].between(0, 65).all()


def test_spatial_folds__never_split_a_cluster():
    sites = pd.DataFrame({"site_id": list("abcdef"), "lat": [37.0, 37.3, 50.0, 50.1, 10.0, -20.0],
                          "lon": [127.0, 127.2, 8.0, 8.05, 100.0, 30.0]})
    clusters = site_clusters(sites)
    assert clusters["a"] == clusters["b"] and clusters["c"] == clusters["d"] and clusters["a"] != clusters["c"]
    folds = spatial_folds(sites, n_folds=3)
    assert folds["a"] == folds["b"] and folds["c"] == folds["d"]
    assert folds.nunique() == 3


def test_spatial_folds__on_the_network(modis_table):
    sites = modis_table.drop_duplicates("site_id")[["site_id", "lat", "lon"]]
    folds = spatial_folds(sites, 5)
    clusters = site_clusters(sites)
    for c, members in clusters.groupby(clusters):
        assert folds[members.index].nunique() == 1  # a cluster never spans folds
    assert folds.index.is_unique  # a site is in exactly one fold


def test_lightgbm_beats_climatology_on_held_out_sites(modis_table):
    res = cross_validate(modis_table, "modis", n_folds=5, rounds=150)
    lgb, clim, mod17 = (res.summary[k]["overall"] for k in ("lightgbm", "climatology", "mod17"))
    assert lgb["rmse"] < clim["rmse"] and lgb["r"] > clim["r"]
    assert lgb["r"] > 0.7
    assert mod17["n"] > 0
    # out-of-fold: every prediction comes from a model that never saw the site
    assert res.predictions.groupby("site_id")["fold"].nunique().max() == 1


def test_model__save_load_round_trip(tmp_path, modis_table):
    model = GppModel.fit(modis_table, "modis", rounds=50)
    model.metrics = {"note": "test"}
    folder = model.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "features.json", "metrics.json", "model.txt"]
    back = GppModel.load(folder)
    rows = modis_table.head(500)
    np.testing.assert_array_equal(model.predict(rows), back.predict(rows))
    assert back.digest == model.digest and json.loads((folder / "config.json").read_text())["sensor"] == "modis"


def test_model__load_refuses_mismatches(tmp_path, modis_table):
    model = GppModel.fit(modis_table, "modis", rounds=10)
    folder = model.save(tmp_path / "m")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["sensor"] = "landsat"
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="config says sensor 'landsat'"):
        GppModel.load(folder)
    with pytest.raises(ModelError, match="not a GPP model folder"):
        GppModel.load(tmp_path / "nothing")
    (folder / "model.txt").write_text("garbage")
    with pytest.raises(ModelError, match="not a readable LightGBM model"):
        GppModel.load(folder)


def test_smooth_gapfill__fills_and_measures_gaps():
    v = np.array([0.2, np.nan, 0.4, 0.5, np.nan, np.nan, 0.8] + [np.nan] * 40)
    clear = np.isfinite(v)
    out, gap = smooth_gapfill(v, clear, window=1, max_gap=16)
    assert out[1] == pytest.approx(0.3) and gap[1] == 1 and gap[0] == 0
    assert out[20] == pytest.approx(0.8) and gap[20] == 14
    assert np.isnan(out[40])  # nothing clear within 16 days


def test_interpolate_acquisitions__between_clear_scenes():
    times = np.array([0, 16, 32])
    vals = np.array([[0.2], [0.9], [0.6]])
    clear = np.array([[True], [False], [True]])
    out, since, until = interpolate_acquisitions(times, vals, clear, np.array([8, 100]))
    assert out[0, 0] == pytest.approx(0.2 + 8 / 32 * 0.4) and since[0, 0] == 8 and until[0, 0] == 24
    assert np.isnan(out[1, 0])


def test_gpp_maps__on_the_project_grid_with_units(modis_table, mini_network, small_region, world):
    from unique_core.gpp.maps import gpp_l_map, gpp_m_map

    day = dt.date(2022, 7, 25)
    m = gpp_m_map(GppModel.fit(modis_table, "modis", rounds=30), world, day, small_region)
    assert m.rio.crs.to_epsg() == 5179 and m.attrs["units"] == "gC m-2 d-1"
    assert m.shape == small_region.coarse.shape and tuple(m.rio.transform())[:6] == tuple(small_region.coarse.transform)[:6]
    assert np.nanmin(m.values) >= 0 and np.isfinite(m.values).any()
    landsat = training_table(mini_network, "landsat")
    l_ = gpp_l_map(GppModel.fit(landsat, "landsat", rounds=30), world, small_region, day)
    assert l_.shape == small_region.fine.shape and l_.rio.resolution() == (30.0, -30.0)
