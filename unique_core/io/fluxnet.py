"""FLUXNET daily files: FLUXNET2015 FULLSET DD, AmeriFlux-FLUXNET and ICOS ONEFlux (same names).

Reading: -9999 becomes missing; VPD stays in hPa as FLUXNET stores it; days are kept when
NEE_VUT_REF_QC (the share of good half-hours) reaches `min_qc` (0.8 by default); GPP is the
night-time (NT), daytime (DT) or mean of both partitionings. A file missing a column that the
choice needs raises DataError naming the column and the file.

Writing: the simulated towers are written with the full 334-column FLUXNET2015 header
(assets/fluxnet2015_fullset_dd_columns.txt, taken from a real file), -9999 where a quantity
is not simulated.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from unique_core.atomic import atomic_path
from unique_core.errors import DataError

MISSING = -9999
HEADER_FILE = Path(__file__).resolve().parents[2] / "assets" / "fluxnet2015_fullset_dd_columns.txt"

# Standard column names (FLUXNET / ONEFlux)
TIMESTAMP = "TIMESTAMP"
QC = "NEE_VUT_REF_QC"
GPP_NT = "GPP_NT_VUT_REF"
GPP_DT = "GPP_DT_VUT_REF"
TA, SW, VPD, P = "TA_F", "SW_IN_F", "VPD_F", "P_F"
TA_ERA, SW_ERA, VPD_ERA, P_ERA = "TA_ERA", "SW_IN_ERA", "VPD_ERA", "P_ERA"

Partition = Literal["NT", "DT", "mean"]
_NAME_PATTERNS = (
    re.compile(r"^FLX_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_FLUXNET2015_FULLSET_DD_(?P<y0>\d{4})-(?P<y1>\d{4})"),
    re.compile(r"^AMF_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_FLUXNET_(?:FULLSET|SUBSET)_DD_(?P<y0>\d{4})-(?P<y1>\d{4})"),
    re.compile(r"^ICOSETC_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_FLUXNET_DD_"),
    re.compile(r"^FLX_(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})_FLUXNET2015_SUBSET_DD_(?P<y0>\d{4})-(?P<y1>\d{4})"),
)


@functools.lru_cache(maxsize=1)
def fullset_columns() -> tuple[str, ...]:
    """The 334 columns of a real FLUXNET2015 FULLSET daily file, in order."""
    return tuple(HEADER_FILE.read_text().strip().split(","))


def site_id_from_name(path: Path) -> str | None:
    for pattern in _NAME_PATTERNS:
        m = pattern.match(path.name)
        if m:
            return m.group("site")
    return None


def _needed(partition: Partition) -> list[str]:
    gpp = {"NT": [GPP_NT], "DT": [GPP_DT], "mean": [GPP_NT, GPP_DT]}[partition]
    return [TIMESTAMP, QC, *gpp]


def read_fluxnet(path: str | Path, *, min_qc: float = 0.8, partition: Partition = "NT",
                 site_id: str | None = None) -> pd.DataFrame:
    """One site's days as a table: date, gpp (the chosen partition), QC, meteorology.

    Columns: site_id, date, gpp, gpp_nt, gpp_dt, nee_qc, qc_pass, ta, sw, vpd, precip, and the
    reanalysis columns ta_era, sw_era, vpd_era, precip_era where the file has them (NaN if not).
    Every day is returned; `qc_pass` says whether it meets `min_qc` and has a GPP value.
    """
    path = Path(path)
    if partition not in ("NT", "DT", "mean"):
        raise DataError(f"partition must be NT, DT or mean, not {partition!r}")
    if not 0.0 <= min_qc <= 1.0:
        raise DataError(f"min_qc must be between 0 and 1 (a share of good half-hours), not {min_qc}")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        header = pd.read_csv(path, nrows=0).columns.tolist()
    except Exception as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from exc
    for col in _needed(partition):
        if col not in header:
            hint = "choose --partition DT" if col == GPP_NT and GPP_DT in header else (
                "choose --partition NT" if col == GPP_DT and GPP_NT in header else "is it a FLUXNET daily (DD) file?")
            raise DataError(f"{path}: column {col!r} is missing ({hint})")
    wanted = [c for c in (TIMESTAMP, QC, GPP_NT, GPP_DT, TA, SW, VPD, P, TA_ERA, SW_ERA, VPD_ERA, P_ERA)
              if c in header]
    try:
        raw = pd.read_csv(path, usecols=wanted, na_values=[MISSING, str(MISSING), "-9999.0"],
                          dtype={TIMESTAMP: str})
    except Exception as exc:
        raise DataError(f"{path}: could not be read as a FLUXNET daily file ({exc})") from exc
    try:
        dates = pd.to_datetime(raw[TIMESTAMP].str.strip(), format="%Y%m%d")
    except (ValueError, AttributeError) as exc:
        raise DataError(f"{path}: TIMESTAMP must be YYYYMMDD in a daily file ({exc})") from exc

    def col(name):
        return raw[name].astype(float) if name in raw else pd.Series(np.nan, index=raw.index)

    nt, dtp = col(GPP_NT), col(GPP_DT)
    gpp = {"NT": nt, "DT": dtp, "mean": (nt + dtp) / 2}[partition]
    qc = col(QC)
    out = pd.DataFrame({
        "site_id": site_id or site_id_from_name(path) or path.stem,
        "date": dates.dt.date, "gpp": gpp, "gpp_nt": nt, "gpp_dt": dtp, "nee_qc": qc,
        "ta": col(TA), "sw": col(SW), "vpd": col(VPD), "precip": col(P),
        "ta_era": col(TA_ERA), "sw_era": col(SW_ERA), "vpd_era": col(VPD_ERA), "precip_era": col(P_ERA)})
    out["qc_pass"] = (qc >= min_qc) & gpp.notna()
    return out


@dataclass
class FileSummary:
    file: str
    site_id: str | None
    years: list[int] = field(default_factory=list)
    days: int = 0
    days_passing_qc: int = 0
    mean_gpp_passing: float | None = None
    problems: list[str] = field(default_factory=list)


def summarize(path: str | Path, *, min_qc: float = 0.8, partition: Partition = "NT") -> FileSummary:
    """What a file holds and what is wrong with it (never raises for a bad file: it reports it)."""
    path = Path(path)
    s = FileSummary(str(path), site_id_from_name(path))
    try:
        df = read_fluxnet(path, min_qc=min_qc, partition=partition)
    except DataError as exc:
        s.problems.append(str(exc))
        return s
    if s.site_id is None:
        s.problems.append("file name does not follow FLX_/AMF_/ICOSETC_ naming; site id taken from the name")
        s.site_id = str(df["site_id"].iloc[0])
    dates = pd.to_datetime(df["date"])
    s.years = sorted(int(y) for y in dates.dt.year.unique())
    s.days = len(df)
    s.days_passing_qc = int(df["qc_pass"].sum())
    if s.days_passing_qc:
        s.mean_gpp_passing = round(float(df.loc[df["qc_pass"], "gpp"].mean()), 3)
    if dates.duplicated().any():
        s.problems.append(f"{int(dates.duplicated().sum())} duplicated dates")
    expected = (dates.max() - dates.min()).days + 1
    if expected != len(df.drop_duplicates("date")):
        s.problems.append(f"{expected - len(df.drop_duplicates('date'))} calendar days missing between first and last")
    neg = int((df["gpp"] < 0).sum())
    if neg:
        s.problems.append(f"{neg} days with negative GPP")
    nan_gpp = int(df["gpp"].isna().sum())
    if nan_gpp:
        s.problems.append(f"{nan_gpp} days without GPP (-9999)")
    if df["nee_qc"].isna().all():
        s.problems.append(f"{QC} is empty: no day can pass the QC filter")
    for c, name in ((TA, "ta"), (SW, "sw"), (VPD, "vpd")):
        if df[name].isna().all():
            s.problems.append(f"{c} missing or empty")
    return s


def file_name(site_id: str, first_year: int, last_year: int, version: str = "1-4") -> str:
    return f"FLX_{site_id}_FLUXNET2015_FULLSET_DD_{first_year}-{last_year}_{version}.csv"


def write_fluxnet_dd(path: str | Path, values: dict[str, np.ndarray], dates: list) -> Path:
    """Write a FULLSET DD file (all 334 columns, in order; -9999 where `values` has none).

    `values` maps FLUXNET column names to arrays over `dates` (NaN becomes -9999).
    """
    columns = fullset_columns()
    unknown = set(values) - set(columns)
    if unknown:
        raise DataError(f"not FLUXNET2015 columns: {sorted(unknown)}")
    n = len(dates)
    table = {c: np.full(n, float(MISSING)) for c in columns if c != TIMESTAMP}
    for c, v in values.items():
        v = np.asarray(v, dtype=float)
        table[c] = np.where(np.isfinite(v), v, MISSING)
    df = pd.DataFrame(table, columns=[c for c in columns if c != TIMESTAMP])
    df.insert(0, TIMESTAMP, [d.strftime("%Y%m%d") for d in dates])
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.5g")
    path = Path(path)
    with atomic_path(path, suffix=".csv") as tmp:
        tmp.write_text(buf.getvalue())
    return path
