"""FLUXNET daily files: FLUXNET2015 FULLSET DD, AmeriFlux-FLUXNET and ICOS ONEFlux (same names).

Reading: -9999 (and NA) become missing; VPD stays in hPa as FLUXNET stores it; days are kept
when NEE_VUT_REF_QC (the share of good half-hours) reaches `min_qc` (0.8 by default); GPP is the
night-time (NT), daytime (DT) or mean of both partitionings. A file missing a column that the
choice needs raises DataError naming the column and the file. Monthly, yearly and half-hourly
files are refused with what to download instead; absurd shapes (megabyte header lines, thousands
of columns) are refused from the first bytes, before any parsing; ragged rows, text in numeric
columns, infinities and implausible values are reported with the column and the lines.

Writing lives with the folder format in unique_core.sources.sitefiles (the simulated towers
are written with the full 334-column FLUXNET2015 header, -9999 where a quantity is not
simulated); `file_name`, `fullset_columns` and `write_fluxnet_dd` are imported here so this
module stays the one place to go for FLUXNET files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from unique_core.errors import DataError
from unique_core.sources.sitefiles import MISSING, TIMESTAMP, file_name, fullset_columns, write_fluxnet_dd  # noqa: F401

# Standard column names (FLUXNET / ONEFlux)
QC = "NEE_VUT_REF_QC"
RANDUNC = "NEE_VUT_REF_RANDUNC"  # random uncertainty (1 sd) of the daily NEE, gC m-2 d-1; optional
GPP_NT = "GPP_NT_VUT_REF"
GPP_DT = "GPP_DT_VUT_REF"
TA, SW, VPD, P = "TA_F", "SW_IN_F", "VPD_F", "P_F"
TA_ERA, SW_ERA, VPD_ERA, P_ERA = "TA_ERA", "SW_IN_ERA", "VPD_ERA", "P_ERA"

Partition = Literal["NT", "DT", "mean"]
_SITE = r"(?P<site>[A-Z]{2}-[A-Za-z0-9]{3})"
_NAME_PATTERNS = (
    re.compile(rf"^FLX_{_SITE}_FLUXNET2015_(?:FULLSET|SUBSET)_DD_(?P<y0>\d{{4}})-(?P<y1>\d{{4}})"),
    re.compile(rf"^AMF_{_SITE}_FLUXNET_(?:FULLSET|SUBSET)_DD_(?P<y0>\d{{4}})-(?P<y1>\d{{4}})"),
    re.compile(rf"^ICOSETC_{_SITE}_FLUXNET_DD_"),
    re.compile(rf"^FLX_{_SITE}_FLUXDATAKIT_FULLSET_DD_(?P<y0>\d{{4}})[-_](?P<y1>\d{{4}})"),
)
_RESOLUTION = re.compile(r"_(DD|MM|YY|WW|HH|HR)_")
_WHAT_INSTEAD = {
    "MM": "a monthly (MM) file", "YY": "a yearly (YY) file", "WW": "a weekly (WW) file",
    "HH": "a half-hourly (HH) file", "HR": "an hourly (HR) file"}

# Early, cheap limits: far outside any real FLUXNET daily file (FULLSET DD: 334 columns, lines of
# about 3 kB, 20 years of days in about 15 MB), checked before anything is parsed.
MAX_COLUMNS = 1000
MAX_HEADER_BYTES = 64 * 1024
MAX_FILE_BYTES = 256 * 1024**2

# Alternatives where re-exports rename a column (FluxDataKit: TA_F_MDS, no NEE_VUT_REF_QC).
ALIASES = {TA: ("TA_F", "TA_F_MDS"), SW: ("SW_IN_F", "SW_IN_F_MDS"), VPD: ("VPD_F", "VPD_F_MDS"), P: ("P_F",),
           QC: ("NEE_VUT_REF_QC", "GPP_NT_VUT_REF_QC")}
# Plausible daily values (units as FLUXNET stores them); outside them the file is refused. Air
# temperature takes the physical range of the ERA5 readers (-90 to 60 degC): a Siberian winter day
# can average below -60 degC.
BOUNDS = {GPP_NT: (-15.0, 40.0), GPP_DT: (-15.0, 40.0), QC: (0.0, 1.0), RANDUNC: (0.0, 50.0), TA: (-90.0, 60.0),
          SW: (-5.0, 500.0), VPD: (0.0, 100.0), P: (0.0, 1000.0), TA_ERA: (-90.0, 60.0), SW_ERA: (-5.0, 500.0),
          VPD_ERA: (0.0, 100.0), P_ERA: (0.0, 1000.0)}
_UNITS = {GPP_NT: "gC m-2 d-1", GPP_DT: "gC m-2 d-1", QC: "fraction of good half-hours", RANDUNC: "gC m-2 d-1", TA: "degC",
          SW: "W m-2", VPD: "hPa", P: "mm d-1", TA_ERA: "degC", SW_ERA: "W m-2", VPD_ERA: "hPa", P_ERA: "mm d-1"}


def site_id_from_name(path: Path) -> str | None:
    for pattern in _NAME_PATTERNS:
        m = pattern.match(path.name)
        if m:
            return m.group("site")
    m = re.match(rf"^(?:FLX|AMF|ICOSETC)_{_SITE}_", path.name)
    return m.group("site") if m else None


def _rows(mask: np.ndarray) -> str:
    """'lines 12, 40 (3 rows)' for a boolean mask over data rows (line 1 is the header)."""
    idx = np.nonzero(np.asarray(mask))[0]
    lines = ", ".join(str(int(i) + 2) for i in idx[:5])
    return f"line{'s' if len(idx) > 1 else ''} {lines}{', ...' if len(idx) > 5 else ''} ({len(idx)} row" \
           f"{'s' if len(idx) > 1 else ''})"


def sniff(path: Path) -> list[str]:
    """The header's columns, refusing early and cheaply what is no FLUXNET daily file.

    Reads at most MAX_HEADER_BYTES: a file without a line break there, with more than MAX_COLUMNS
    columns, over MAX_FILE_BYTES, or of another time step (MM, YY, WW, HH, HR) is refused, naming
    the limit or what to download instead.
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DataError(f"{path}: {size / 1024**2:.0f} MB is far larger than a FLUXNET daily file (limit "
                        f"{MAX_FILE_BYTES // 1024**2} MB): is it a half-hourly file? Download the DD file")
    m = _RESOLUTION.search(path.name)
    if m and m.group(1) != "DD":
        raise DataError(f"{path}: {_WHAT_INSTEAD[m.group(1)]}, not daily: UNIQUE needs the daily file; download "
                        f"the _DD_ file of the same product ({path.name.replace(m.group(0), '_DD_')})")
    with open(path, "rb") as fh:
        head = fh.read(MAX_HEADER_BYTES)
    if not head.strip():
        raise DataError(f"{path}: empty: not a readable CSV file; download it again")
    cut = [i for i in (head.find(b"\n"), head.find(b"\r")) if i >= 0]
    if not cut and len(head) < MAX_HEADER_BYTES:
        cut = [len(head)]  # a file of one line: the header alone
    if not cut:
        raise DataError(f"{path}: no line break in the first {MAX_HEADER_BYTES // 1024} kB: the header is longer "
                        f"than any FLUXNET header (limit {MAX_HEADER_BYTES // 1024} kB, {MAX_COLUMNS} columns); "
                        "this is not a FLUXNET daily file")
    header = head[:min(cut)].decode("utf-8", errors="replace")
    if b"\x00" in head:
        raise DataError(f"{path}: binary content, not a readable CSV file; download it again")
    columns = [c.strip().strip('"') for c in header.split(",")]
    if len(columns) > MAX_COLUMNS:
        raise DataError(f"{path}: {len(columns)} columns, more than the {MAX_COLUMNS} of any FLUXNET file: not a "
                        "FLUXNET daily file")
    if "TIMESTAMP_START" in columns:
        raise DataError(f"{path}: TIMESTAMP_START/END columns make it a half-hourly or hourly file: UNIQUE needs "
                        "the daily (DD) file")
    return columns


def _pick(header: list[str], name: str) -> str | None:
    return next((c for c in ALIASES.get(name, (name,)) if c in header), None)


def _needed(partition: Partition) -> list[str]:
    gpp = {"NT": [GPP_NT], "DT": [GPP_DT], "mean": [GPP_NT, GPP_DT]}[partition]
    return [TIMESTAMP, QC, *gpp]


def _ragged(path: Path, ncols: int) -> None:
    """DataError naming the lines whose field count differs from the header's (cheap: counts commas)."""
    with open(path, "rb") as fh:
        text = fh.read()
    lines = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")[1:]
    counts = np.array([ln.count(b",") + 1 for ln in lines if ln.strip()])
    keep = [i for i, ln in enumerate(lines) if ln.strip()]
    bad = np.nonzero(counts != ncols)[0]
    if bad.size:
        first = [keep[i] + 2 for i in bad[:5]]
        raise DataError(f"{path}: ragged rows: line{'s' if bad.size > 1 else ''} {', '.join(map(str, first))}"
                        f"{', ...' if bad.size > 5 else ''} ({bad.size} in all) have "
                        f"{counts[bad[0]]} fields, the header {ncols}: the file is damaged; download it again")


def read_fluxnet(path: str | Path, *, min_qc: float = 0.8, partition: Partition = "NT",
                 site_id: str | None = None) -> pd.DataFrame:
    """One site's days as a table: date, gpp (the chosen partition), QC, meteorology.

    Columns: site_id, date, gpp, gpp_nt, gpp_dt (gC m-2 d-1), nee_qc (0-1), qc_pass, nee_randunc (the
    daily NEE's random uncertainty, 1 sd in gC m-2 d-1; NaN where the file has no NEE_VUT_REF_RANDUNC), ta (degC),
    sw (W m-2), vpd (hPa), precip (mm d-1), and the reanalysis columns ta_era, sw_era, vpd_era,
    precip_era where the file has them (NaN if not). Every day is returned; `qc_pass` says whether
    it meets `min_qc` and has a GPP value. FluxDataKit re-exports (ISO dates, TA_F_MDS, the GPP's own
    _QC for lack of NEE_VUT_REF_QC, NA for missing) are read too. Values outside physical bounds,
    infinities, text in numeric columns and ragged rows raise DataError naming column and lines.
    """
    path = Path(path)
    if partition not in ("NT", "DT", "mean"):
        raise DataError(f"partition must be NT, DT or mean, not {partition!r}")
    if not 0.0 <= min_qc <= 1.0:
        raise DataError(f"min_qc must be between 0 and 1 (a share of good half-hours), not {min_qc}")
    if not path.exists():
        raise DataError(f"{path}: file not found")
    header = sniff(path)
    if TIMESTAMP not in header:
        raise DataError(f"{path}: column 'TIMESTAMP' is missing: is it a FLUXNET daily (DD) file?")
    for col in _needed(partition):
        if _pick(header, col) is None:
            hint = "choose --partition DT" if col == GPP_NT and GPP_DT in header else (
                "choose --partition NT" if col == GPP_DT and GPP_NT in header else "is it a FLUXNET daily (DD) file?")
            raise DataError(f"{path}: column {col!r} is missing ({hint})")
    _ragged(path, len(header))
    names = {n: _pick(header, n) for n in (QC, GPP_NT, GPP_DT, RANDUNC, TA, SW, VPD, P, TA_ERA, SW_ERA, VPD_ERA,
                                           P_ERA)}
    wanted = [TIMESTAMP] + sorted({c for c in names.values() if c})
    try:
        raw = pd.read_csv(path, usecols=wanted, dtype=str, keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - any parser failure is the user's file
        raise DataError(f"{path}: could not be read as a FLUXNET daily file ({str(exc).splitlines()[0][:160]})") from exc
    ts = raw[TIMESTAMP].str.strip()
    fmt = "%Y-%m-%d" if ts.str.contains("-").any() else "%Y%m%d"
    lengths = set(ts.str.len())
    if fmt == "%Y%m%d" and lengths - {8}:
        step = {4: "a yearly (YY)", 6: "a monthly (MM)", 12: "a half-hourly (HH)"}.get(max(lengths), "not a daily")
        raise DataError(f"{path}: TIMESTAMP has {max(lengths)} digits: {step} file, not daily (YYYYMMDD); download "
                        "the DD file")
    dates = pd.to_datetime(ts, format=fmt, errors="coerce")
    if dates.isna().any():
        raise DataError(f"{path}: TIMESTAMP must be YYYYMMDD in a daily file: {_rows(dates.isna())}, e.g. "
                        f"{ts[dates.isna()].iloc[0]!r}")

    def col(name):
        c = names.get(name)
        if c is None:
            return pd.Series(np.nan, index=raw.index)
        text = raw[c].str.strip()
        missing = text.isin(["", "NA", "NaN", "nan", "-9999", "-9999.0", "-9999.00"])
        v = pd.to_numeric(text.where(~missing), errors="coerce")
        bad = v.isna() & ~missing
        if bad.any():
            raise DataError(f"{path}: column {c} holds text where numbers belong: {_rows(bad)}, e.g. "
                            f"{text[bad].iloc[0][:20]!r}")
        if np.isinf(v).any():
            raise DataError(f"{path}: column {c} holds infinite values: {_rows(np.isinf(v))}")
        lo, hi = BOUNDS.get(name, (-np.inf, np.inf))
        out = (v < lo) | (v > hi)
        if out.any():
            hint = " (FLUXNET stores VPD in hPa: is it Pa?)" if name in (VPD, VPD_ERA) else ""
            raise DataError(f"{path}: column {c} outside the plausible {lo:g} to {hi:g} {_UNITS.get(name, '')}"
                            f"{hint}: {_rows(out)}, e.g. {v[out].iloc[0]:g}")
        return v.astype(float)

    nt, dtp = col(GPP_NT), col(GPP_DT)
    gpp = {"NT": nt, "DT": dtp, "mean": (nt + dtp) / 2}[partition]
    qc = col(QC)
    ta, vpd = col(TA), col(VPD)
    if ta.max() > 15 and vpd.notna().sum() > 30 and vpd.quantile(0.99) < 1.0:
        raise DataError(f"{path}: column {names[VPD]} stays below 1 while {names[TA]} reaches {ta.max():.0f} degC: "
                        "VPD looks like kPa; FLUXNET stores hPa (multiply by 10)")
    out = pd.DataFrame({
        "site_id": site_id or site_id_from_name(path) or path.stem,
        "date": dates.dt.date, "gpp": gpp, "gpp_nt": nt, "gpp_dt": dtp, "nee_qc": qc, "nee_randunc": col(RANDUNC),
        "ta": ta, "sw": col(SW), "vpd": vpd, "precip": col(P),
        "ta_era": col(TA_ERA), "sw_era": col(SW_ERA), "vpd_era": col(VPD_ERA), "precip_era": col(P_ERA)})
    out["qc_pass"] = (qc >= min_qc) & gpp.notna()
    out.attrs["qc_column"] = names[QC]
    return out


@dataclass
class FileSummary:
    file: str
    site_id: str | None
    years: list[int] = field(default_factory=list)
    days: int = 0
    days_passing_qc: int = 0
    mean_gpp_passing: float | None = None
    problems: list[str] = field(default_factory=list)  # the file cannot be used as it is
    warnings: list[str] = field(default_factory=list)  # usable, but worth knowing


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
        s.problems.append(f"{path}: {int(dates.duplicated().sum())} duplicated dates: {_rows(dates.duplicated())}")
    expected = (dates.max() - dates.min()).days + 1
    if expected != len(df.drop_duplicates("date")):
        s.warnings.append(f"{path}: {expected - len(df.drop_duplicates('date'))} calendar days missing between "
                          "first and last")
    neg = int((df["gpp"] < 0).sum())
    if neg:
        s.warnings.append(f"{path}: {neg} days with negative GPP (night-time partitioning allows small ones)")
    nan_gpp = int(df["gpp"].isna().sum())
    if nan_gpp:
        s.warnings.append(f"{path}: {nan_gpp} days without GPP (-9999)")
    if df["nee_qc"].isna().all():
        s.problems.append(f"{path}: {df.attrs.get('qc_column', QC)} is empty: no day can pass the QC filter")
    for c, name in ((TA, "ta"), (SW, "sw"), (VPD, "vpd")):
        if df[name].isna().all():
            s.warnings.append(f"{path}: {c} missing or empty")
    return s
