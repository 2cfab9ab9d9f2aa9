"""The FLUXNET reader on files with the real 334-column header, and on broken ones."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from unique_core.errors import DataError
from unique_core.io import fluxnet


@pytest.fixture()
def real_header_file(tmp_path):
    """A FULLSET DD file with every real column, -9999 values and low-QC days."""
    dates = [dt.date(2019, 1, 1) + dt.timedelta(k) for k in range(10)]
    gpp_nt = np.array([1.0, 2.0, -9999, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    values = {"GPP_NT_VUT_REF": gpp_nt, "GPP_DT_VUT_REF": np.where(gpp_nt == -9999, np.nan, gpp_nt * 0.9),
              "NEE_VUT_REF_QC": np.array([1, 0.9, 0.95, 0.5, 0.79, 0.8, 1, 1, 0.2, 0.85]),
              "TA_F": np.linspace(-2, 5, 10), "SW_IN_F": np.full(10, 120.0), "VPD_F": np.full(10, 3.5),
              "P_F": np.zeros(10)}
    path = tmp_path / fluxnet.file_name("XX-Tst", 2019, 2019)
    fluxnet.write_fluxnet_dd(path, values, dates)
    return path


def test_write__full_real_header(real_header_file):
    header = pd.read_csv(real_header_file, nrows=0).columns.tolist()
    assert header == list(fluxnet.fullset_columns()) and len(header) == 334
    raw = pd.read_csv(real_header_file)
    assert (raw["LE_F_MDS"] == -9999).all()  # not simulated: missing, the FLUXNET way


def test_read__missing_values_qc_and_partitions(real_header_file):
    df = fluxnet.read_fluxnet(real_header_file)
    assert df["site_id"].iloc[0] == "XX-Tst"
    assert np.isnan(df["gpp"].iloc[2])  # -9999 -> missing
    # QC >= 0.8 and a GPP value: days 0, 1, 5, 6, 7, 9 (day 2 has no GPP, 3/4/8 low QC)
    assert df["qc_pass"].tolist() == [True, True, False, False, False, True, True, True, False, True]
    dt_ = fluxnet.read_fluxnet(real_header_file, partition="DT")
    np.testing.assert_allclose(dt_["gpp"].iloc[0], 0.9)
    mean = fluxnet.read_fluxnet(real_header_file, partition="mean", min_qc=0.5)
    np.testing.assert_allclose(mean["gpp"].iloc[0], 0.95)
    assert mean["qc_pass"].sum() == 8
    assert df["vpd"].iloc[0] == 3.5  # hPa, as stored


def test_read__missing_column_names_column_and_file(tmp_path):
    path = tmp_path / "FLX_XX-Bad_FLUXNET2015_FULLSET_DD_2019-2019_1-4.csv"
    pd.DataFrame({"TIMESTAMP": ["20190101"], "GPP_DT_VUT_REF": [1.0], "NEE_VUT_REF_QC": [1.0]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"FLX_XX-Bad.*column 'GPP_NT_VUT_REF' is missing \(choose --partition DT\)"):
        fluxnet.read_fluxnet(path)
    df = fluxnet.read_fluxnet(path, partition="DT")
    assert df["gpp"].iloc[0] == 1.0
    no_qc = tmp_path / "FLX_XX-Noq_FLUXNET2015_FULLSET_DD_2019-2019_1-4.csv"
    pd.DataFrame({"TIMESTAMP": ["20190101"], "GPP_NT_VUT_REF": [1.0]}).to_csv(no_qc, index=False)
    with pytest.raises(DataError, match="column 'NEE_VUT_REF_QC' is missing"):
        fluxnet.read_fluxnet(no_qc)


def test_read__a_siberian_winter_is_read_and_an_impossible_one_refused(tmp_path):
    """Daily air temperature is bounded by the physical range (-90 to 60 degC), not by Korea's: a winter
    day averaging -62 degC (Yakutia) is data, -95 degC is refused with the column and the line."""
    path = tmp_path / "FLX_RU-Ykt_FLUXNET2015_FULLSET_DD_2019-2019_1-4.csv"
    frame = {"TIMESTAMP": ["20190101", "20190102"], "GPP_NT_VUT_REF": [0.0, 0.0], "NEE_VUT_REF_QC": [1.0, 1.0],
             "NEE_VUT_REF_RANDUNC": [0.05, -9999], "TA_F": [-62.0, -58.5]}
    pd.DataFrame(frame).to_csv(path, index=False)
    df = fluxnet.read_fluxnet(path)
    assert df["ta"].tolist() == [-62.0, -58.5]
    assert df["nee_randunc"].iloc[0] == 0.05 and np.isnan(df["nee_randunc"].iloc[1])  # -9999: missing
    pd.DataFrame({**frame, "TA_F": [-62.0, -95.0]}).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"RU-Ykt.*column TA_F outside the plausible -90 to 60 degC: line 3"):
        fluxnet.read_fluxnet(path)


@pytest.mark.parametrize("content, message", [("not,a\\ncsv,,,\\x00", "TIMESTAMP"), ("", "not a readable CSV")])
def test_read__garbage_files(tmp_path, content, message):
    path = tmp_path / "FLX_XX-Gbg_FLUXNET2015_FULLSET_DD_2019-2019_1-4.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        fluxnet.read_fluxnet(path)


def test_summary__reports_problems(real_header_file):
    s = fluxnet.summarize(real_header_file)
    assert s.site_id == "XX-Tst" and s.years == [2019] and s.days == 10 and s.days_passing_qc == 6
    assert s.mean_gpp_passing == pytest.approx(np.mean([1, 2, 6, 7, 8, 10]), abs=1e-3)
    assert any("without GPP" in w for w in s.warnings) and not s.problems


def test_cli_flux_summary_json(real_header_file):
    import json

    from typer.testing import CliRunner

    from unique_core.cli import app

    res = CliRunner().invoke(app, ["flux", "summary", str(real_header_file), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data[0]["site_id"] == "XX-Tst" and data[0]["days_passing_qc"] == 6
