"""Fill a real-data folder from public STAC catalogues (online): search, sign, fetch by windows.

Two catalogues are known by name (any other STAC API can be given by URL):

| kind      | Planetary Computer (signed) | Earth Search (unsigned)        | goes to                        |
|-----------|-----------------------------|--------------------------------|--------------------------------|
| landsat   | landsat-c2-l2               | landsat-c2-l2 (requester pays) | landsat/<product id>/          |
| modis     | modis-09GA-061              | not offered                    | modis/<day>/MOD09GA.A<yyyyddd>.<band>.tif |
| dem       | cop-dem-glo-30              | cop-dem-glo-30                 | dem/dem.tif                    |
| landcover | esa-worldcover              | not offered                    | landcover/landcover.tif + classes.csv |

`search` asks the STAC API through pystac-client (static collections, the DEM and WorldCover,
without the date filter, since their items carry their production date). `fetch` turns the
items into the folder layout of docs/real-data.md:

- Only http(s) assets are fetched. `s3://` hrefs of public AWS buckets become their https
  address; requester-pays buckets (Earth Search's Landsat, in `s3://usgs-landsat`) and
  file://, relative or local hrefs are refused with a message.
- Planetary Computer hrefs are signed with the `planetary-computer` package just before each
  read (tokens expire, so recorded items are re-signed; no token is ever written to disk or
  shown in a message).
- Rasters are read from the remote COGs by windows (GDAL's /vsicurl/, HTTP range requests):
  only the box asked for, plus a small margin, is transferred, never whole scenes or tiles.
  Tiles of one day or layer are mosaicked on the way.
- Whole files (the Landsat MTL) are downloaded resumably: a partial `.part` file is
  continued with an HTTP Range request, and renamed into place only when complete.
- Item ids never become path pieces as they are: Landsat folders are named by the product id
  found in the asset file names (it must match the Collection 2 pattern), other names by
  `safe_name`.
- HTTP and network errors are one-line `DataError`s naming the catalogue or the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import re
import shutil
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlsplit, urlunsplit

import pystac

from unique_core.atomic import atomic_path, write_text
from unique_core.errors import DataError, RegionError
from unique_core.io.landsat import ID_RE as LANDSAT_ID_RE


@dataclass(frozen=True)
class Catalog:
    name: str
    url: str
    signed: bool  # hrefs need a SAS token from the planetary-computer package


CATALOGS = {
    "planetary-computer": Catalog("planetary-computer", "https://planetarycomputer.microsoft.com/api/stac/v1", True),
    "earth-search": Catalog("earth-search", "https://earth-search.aws.element84.com/v1", False),
}
# The one table of collection ids: kind -> catalogue -> collection (None: the catalogue has none).
COLLECTIONS: dict[str, dict[str, str | None]] = {
    "landsat": {"planetary-computer": "landsat-c2-l2", "earth-search": "landsat-c2-l2"},
    "modis": {"planetary-computer": "modis-09GA-061", "earth-search": None},
    "dem": {"planetary-computer": "cop-dem-glo-30", "earth-search": "cop-dem-glo-30"},
    "landcover": {"planetary-computer": "esa-worldcover", "earth-search": None},
}
KINDS = tuple(COLLECTIONS)
STATIC_KINDS = ("dem", "landcover")  # items dated by production, not acquisition: searched without dates

LANDSAT_ASSETS = {"blue": "SR_B2", "green": "SR_B3", "red": "SR_B4", "nir08": "SR_B5", "swir16": "SR_B6",
                  "swir22": "SR_B7", "qa_pixel": "QA_PIXEL", "qa_radsat": "QA_RADSAT"}
LANDSAT_REQUIRED = ("SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "QA_PIXEL")
MTL_ASSETS = (("mtl.txt", "MTL.txt"), ("mtl.json", "MTL.json"), ("mtl.xml", "MTL.xml"))  # the first present is kept
MODIS_ASSETS = ("sur_refl_b01", "sur_refl_b02", "sur_refl_b03", "sur_refl_b04", "sur_refl_b06", "sur_refl_b07",
                "state_1km")
MODIS_PRODUCTS = ("MOD09GA", "MYD09GA")  # Terra first: the layout holds one file per band and day
# ESA WorldCover 2021 classes -> UNIQUE classes
WORLDCOVER = {10: "mixed", 20: "grassland", 30: "grassland", 40: "field", 50: "urban", 60: "barren", 70: "barren",
              80: "water", 90: "wetland", 95: "wetland", 100: "grassland"}

# s3 buckets that anyone may read over https without an AWS account
PUBLIC_S3 = {"copernicus-dem-30m": "https://copernicus-dem-30m.s3.amazonaws.com",
             "copernicus-dem-90m": "https://copernicus-dem-90m.s3.amazonaws.com",
             "esa-worldcover": "https://esa-worldcover.s3.eu-central-1.amazonaws.com",
             "modis-pds": "https://modis-pds.s3.amazonaws.com"}
REQUESTER_PAYS_S3 = {"usgs-landsat", "usgs-landsat-ard"}
MAX_NAME = 120  # characters of a file or folder name made from a remote id
MAX_BOX_DEG = 1.0  # the widest box fetched at once, degrees each side (1 deg of WorldCover is 144 MB)
MARGIN_DEG = 0.02  # about 2 km around the box, so reprojection onto the project grid has its edges
TIMEOUT_S = 60
_GDAL_HTTP = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_HTTP_MAX_RETRY": "2", "GDAL_HTTP_RETRY_DELAY": "1",
              "GDAL_HTTP_TIMEOUT": str(TIMEOUT_S), "GDAL_HTTP_CONNECTTIMEOUT": "20", "VSI_CACHE": "TRUE",
              "CPL_VSIL_CURL_CHUNK_SIZE": str(64 * 1024),
              # no bytes kept between opens: a rerun after the catalogue changed a file must not read stale data
              "CPL_VSIL_CURL_NON_CACHED": "/vsicurl/"}


# ---------------------------------------------------------------------------------------------
# names, hrefs, signing


def safe_name(remote_id: str) -> str:
    """A file-name piece made from a remote id: letters, digits, '.', '_' and '-' only, no '..',
    no leading dot, at most MAX_NAME characters; raises DataError when nothing usable is left."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(remote_id))
    name = re.sub(r"_+", "_", re.sub(r"\.{2,}", "_", name)).strip("_").lstrip(".")[:MAX_NAME]
    if not name.strip("_-"):
        raise DataError(f"STAC item id {remote_id!r} has no usable characters for a file name; the catalogue "
                        "returned a malformed item, so leave it out of --items")
    return name


def _public(href: str) -> str:
    """The href without its query string, so that no SAS token reaches a message or a log."""
    p = urlsplit(href)
    return urlunsplit((p.scheme, p.netloc, p.path, "", "")) if p.scheme else href


def _scrub(text: str) -> str:
    """One line, and any signed query string cut out."""
    text = re.sub(r"\?[^\s'\"]*", "", str(text))
    return " ".join(text.split())


def http_href(asset: pystac.Asset, *, where: str = "") -> str:
    """The asset's http(s) address: its href, or an alternate one; s3:// of a public bucket becomes https.

    Raises DataError for requester-pays buckets and for file://, relative or local hrefs.
    """
    candidates = [(asset.href, asset.extra_fields)]
    for alt in (asset.extra_fields.get("alternate") or {}).values():
        if isinstance(alt, dict) and alt.get("href"):
            candidates.append((alt["href"], alt))
    reasons = []
    for href, fields in candidates:
        href = str(href)
        scheme = urlsplit(href).scheme.lower()
        if scheme in ("http", "https") and urlsplit(href).netloc:
            return href
        if scheme == "s3":
            bucket, _, key = href[5:].partition("/")
            if fields.get("storage:requester_pays") or bucket in REQUESTER_PAYS_S3:
                reasons.append(f"{href} is in the requester-pays bucket s3://{bucket}, which bills an AWS account "
                               "(use --catalog planetary-computer, whose copy is free)")
            elif bucket in PUBLIC_S3:
                return f"{PUBLIC_S3[bucket]}/{key}"
            else:
                reasons.append(f"{href} is in s3://{bucket}, which UNIQUE does not know to be public over https")
        elif scheme == "file" or href.startswith(("/", "./", "../")) or not scheme or len(scheme) == 1:
            reasons.append(f"{href} is a local path, not an http(s) address (STAC assets are fetched from the "
                           "catalogue; put local files into the folder layout yourself, see docs/real-data.md)")
        else:
            reasons.append(f"{href} is not an http(s) address")
    raise DataError(f"{where}: " + "; ".join(reasons) if where else "; ".join(reasons))


def sign(href: str, catalog: Catalog | None) -> str:
    """`href` with a fresh Planetary Computer SAS token when the catalogue needs one (else unchanged).

    An old token (from recorded items) is dropped first. Token requests go to the package's
    SAS endpoint (`planetary_computer.settings.Settings.get().sas_url`, or PC_SDK_SAS_URL).
    """
    if catalog is None or not catalog.signed:
        return href
    import requests

    try:
        import planetary_computer.sas as pcs
        from planetary_computer.utils import parse_blob_url
    except ImportError:
        raise DataError("signing Planetary Computer hrefs needs the planetary-computer package: "
                        "pip install -r requirements.txt") from None

    parsed = urlsplit(_public(href))
    if not parsed.netloc.endswith(pcs.BLOB_STORAGE_DOMAIN):
        return href  # not in Azure blob storage: nothing to sign
    account, container = parse_blob_url(parsed)
    try:
        # few retries: a refused or failing endpoint must fail in seconds, not the package's minutes
        token = pcs.get_token(account, container, retry_total=2, retry_backoff_factor=0.2)
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        raise DataError(f"the Planetary Computer refused a SAS token for {account}/{container} (HTTP {code}); "
                        "wait a minute and retry, or set PC_SDK_SUBSCRIPTION_KEY") from None
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise DataError(f"could not get a Planetary Computer SAS token for {account}/{container} "
                        f"({_scrub(type(exc).__name__)}); check the internet connection and retry") from None
    return token.sign(_public(href)).href


# ---------------------------------------------------------------------------------------------
# whole files: resumable, atomic


def _http_reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "host not found"
    return _scrub(f"{type(reason).__name__}: {reason}")


RETRY_STATUS = (429, 502, 503, 504)  # busy or a gateway hiccup: worth a second try; other errors are final


def download(href: str, target: str | Path, *, timeout: float = TIMEOUT_S, chunk: int = 1 << 16,
             retries: int = 2, backoff_s: float = 1.0) -> Path:
    """Download `href` (http or https) to `target`, resuming a partial download.

    Bytes go to `.<name>.part` beside the target; a later call sends `Range: bytes=<size>-`
    (with `If-Range` and the ETag or Last-Modified seen first, so a file changed on the server
    is downloaded again rather than spliced) and appends, or starts over when the server sends
    the whole file. The target appears (by rename) only when the server's length is reached. An
    existing target is taken as complete. Busy answers (429, 502-504) are retried `retries`
    times, `backoff_s`, 2 x `backoff_s`, ... apart.
    """
    import time

    target = Path(target)
    if target.exists():
        return target
    if urlsplit(href).scheme not in ("http", "https"):
        raise DataError(f"{href}: only http(s) addresses are downloaded")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(f".{target.name}.part")
    validator_file = target.with_name(f".{target.name}.part.etag")
    for attempt in range(retries + 1):
        try:
            total = _download_once(href, part, validator_file, timeout, chunk)
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():  # nothing left to send: the part may already be whole
                m = re.match(r"bytes \*/(\d+)", (exc.headers.get("Content-Range") or "") if exc.headers else "")
                if m and int(m.group(1)) == part.stat().st_size:
                    total = part.stat().st_size
                    break
                part.unlink(missing_ok=True)
            if exc.code in RETRY_STATUS and attempt < retries:
                time.sleep(backoff_s * 2 ** attempt)
                continue
            raise DataError(f"could not download {_public(href)}: {_http_reason(exc)}; check that the item still "
                            "exists in the catalogue, then run the same command again (it resumes)") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise DataError(f"could not download {_public(href)}: {_http_reason(exc)}; check the internet "
                            "connection, then run the same command again (it resumes)") from None
    size = part.stat().st_size
    if total is not None and size != total:
        raise DataError(f"download of {_public(href)} stopped at {size} of {total} bytes; run the same command "
                        "again (it resumes)")
    os.replace(part, target)
    validator_file.unlink(missing_ok=True)
    return target


def _download_once(href: str, part: Path, validator_file: Path, timeout: float, chunk: int) -> int | None:
    """One request, appending to `part` or rewriting it; returns the file's full length when known."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "unique-gpp"}
    if have:
        headers["Range"] = f"bytes={have}-"
        if validator_file.exists():
            headers["If-Range"] = validator_file.read_text().strip()
    req = urllib.request.Request(href, headers=headers)
    # a fresh opener, so the proxy settings of the environment are read now (urlopen keeps the first ones)
    with urllib.request.build_opener().open(req, timeout=timeout) as r:
        if r.status == 206:
            m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", r.headers.get("Content-Range", ""))
            if not m or int(m.group(1)) != have:
                raise DataError(f"{_public(href)}: the server resumed at the wrong place "
                                f"({r.headers.get('Content-Range')!r}); delete {part} and retry")
            total = int(m.group(2)) if m.group(2) != "*" else None
            mode = "ab"
        else:  # 200: the whole file (no part yet, the server ignored the range, or the file changed)
            total = int(r.headers["Content-Length"]) if r.headers.get("Content-Length") else None
            mode = "wb"
            validator = r.headers.get("ETag") or r.headers.get("Last-Modified")
            if validator:
                validator_file.write_text(validator)
            else:
                validator_file.unlink(missing_ok=True)
        with open(part, mode) as f:
            shutil.copyfileobj(r, f, chunk)
    return total


# ---------------------------------------------------------------------------------------------
# rasters: windows of remote COGs


def check_bbox(bbox: Iterable[float]) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees, checked: ordered, on the globe, at most MAX_BOX_DEG a side."""
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        raise RegionError(f"--bbox {bbox!r} is not four numbers: give west south east north in degrees") from None
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise RegionError(f"--bbox {w} {s} {e} {n} is not a box: give west south east north in degrees "
                          "(west < east, south < north), e.g. 127.0 37.6 127.3 37.9")
    if e - w > MAX_BOX_DEG or n - s > MAX_BOX_DEG:
        raise RegionError(f"--bbox {w} {s} {e} {n} is {e - w:.2f} x {n - s:.2f} degrees; fetch at most "
                          f"{MAX_BOX_DEG} degree a side at once (regions are at most 30 x 30 km)")
    return w, s, e, n


def _vsi(href: str) -> str:
    return "/vsicurl/" + href


def read_region(hrefs: list[str], bbox: tuple[float, float, float, float], target: str | Path, *,
                margin_deg: float = MARGIN_DEG, what: str = "raster") -> Path:
    """Write the part of one or more remote COGs (same CRS) that covers `bbox` (lon/lat) to `target`.

    Each source is opened through /vsicurl/ and only the window over the box (plus `margin_deg`)
    is read: GDAL fetches just the tiles it needs with range requests. Several sources (tiles)
    are mosaicked. Data type, nodata, scale/offset and tags of the first source are kept.
    """
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.merge import merge
    from rasterio.warp import transform_bounds

    w, s, e, n = bbox
    box = (max(w - margin_deg, -180), max(s - margin_deg, -90), min(e + margin_deg, 180), min(n + margin_deg, 90))
    with contextlib.ExitStack() as stack:
        stack.enter_context(rasterio.Env(**_GDAL_HTTP))
        srcs = []
        for href in hrefs:
            try:
                srcs.append(stack.enter_context(rasterio.open(_vsi(href))))
            except RasterioError as exc:
                hint = ("Planetary Computer hrefs must be signed: use --catalog planetary-computer, and run again "
                        "if the token expired") if "403" in str(exc) else \
                    "check the internet connection, or that the catalogue still serves this item"
                raise DataError(f"could not read {what} {_public(href)} ({_scrub(exc)}); {hint}") from None
        first = srcs[0]
        if first.crs is None:
            raise DataError(f"{_public(hrefs[0])}: the remote {what} has no CRS; the catalogue's file is unusable")
        if any(src.crs != first.crs for src in srcs[1:]):
            crss = sorted({str(x.crs) for x in srcs})
            raise DataError(f"the {what} tiles over the box are in different CRSs ({crss}); "
                            "fetch a smaller box that one tile covers")
        left, bottom, right, top = transform_bounds("EPSG:4326", first.crs, *box, densify_pts=21)
        used = [src for src in srcs if not (src.bounds.right <= left or src.bounds.left >= right
                                            or src.bounds.top <= bottom or src.bounds.bottom >= top)]
        if not used:
            raise DataError(f"the {what} from {_public(hrefs[0])} does not cover the box {bbox}; the catalogue's "
                            "footprint and the file disagree, so leave this item out")
        # snap the window outwards to the source's pixel lattice, so pixels are copied, never resampled
        rx, ry = first.res
        x0 = first.bounds.left + ((left - first.bounds.left) // rx) * rx
        y1 = first.bounds.top - ((first.bounds.top - top) // ry) * ry
        x1 = x0 + -(-(right - x0) // rx) * rx
        y0 = y1 - -(-(y1 - bottom) // ry) * ry
        try:
            data, transform = merge(used, bounds=(x0, y0, x1, y1), res=(rx, ry), nodata=first.nodata)
        except RasterioError as exc:
            raise DataError(f"could not read {what} {_public(hrefs[0])} ({_scrub(exc)}); check the internet "
                            "connection, then run the same command again") from None
        profile = {"driver": "GTiff", "height": data.shape[1], "width": data.shape[2], "count": data.shape[0],
                   "dtype": first.dtypes[0], "crs": first.crs, "transform": transform, "nodata": first.nodata,
                   "compress": "deflate"}
        if min(data.shape[1:]) >= 256:
            profile |= {"tiled": True, "blockxsize": 256, "blockysize": 256}
        tags = first.tags()
        band_tags = [first.tags(i) for i in range(1, first.count + 1)]
        scales, offsets, descriptions = first.scales, first.offsets, first.descriptions
    target = Path(target)
    with atomic_path(target, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        dst.update_tags(**tags)
        for i, t in enumerate(band_tags, start=1):
            dst.update_tags(i, **t)
            if descriptions[i - 1]:
                dst.set_band_description(i, descriptions[i - 1])
        dst.scales, dst.offsets = scales, offsets
    return target


# ---------------------------------------------------------------------------------------------
# search


def catalog_of(catalog: str) -> Catalog:
    """A known catalogue by name, or any STAC API by its http(s) URL (unsigned)."""
    if catalog in CATALOGS:
        return CATALOGS[catalog]
    if urlsplit(catalog).scheme in ("http", "https"):
        return Catalog(catalog, catalog.rstrip("/"), "planetarycomputer.microsoft.com" in catalog)
    raise DataError(f"unknown catalogue {catalog!r}: use {' or '.join(CATALOGS)}, or the URL of a STAC API")


def collections_for(catalog: Catalog, names: Iterable[str]) -> list[tuple[str, str]]:
    """(kind, collection id) for each name, a kind (landsat, modis, dem, landcover) or a collection id."""
    out = []
    for name in (x.strip() for x in names):
        if not name:
            continue
        if name in COLLECTIONS:
            # another STAC API: the ids most catalogues share (those of the Planetary Computer)
            coll = COLLECTIONS[name].get(catalog.name, COLLECTIONS[name]["planetary-computer"])
            if coll is None:
                has = [c for c, v in COLLECTIONS[name].items() if v]
                raise DataError(f"{catalog.name} has no {name} collection; use --catalog {' or '.join(has)}")
            out.append((name, coll))
            continue
        kind = next((k for k, v in COLLECTIONS.items() if name in v.values()), None) or kind_of_collection(name)
        if kind is None:
            ids = sorted({c for v in COLLECTIONS.values() for c in v.values() if c})
            raise DataError(f"collection {name!r} is not one UNIQUE can put into the folder; use "
                            f"{', '.join(KINDS)} (or their ids: {', '.join(ids)})")
        out.append((kind, name))
    if not out:
        raise DataError(f"no collections given; use some of {', '.join(KINDS)}")
    return out


def kind_of_collection(collection_id: str) -> str | None:
    c = (collection_id or "").lower()
    if "landsat" in c:
        return "landsat"
    if "modis-09ga" in c:
        return "modis"
    if "cop-dem" in c:
        return "dem"
    if "worldcover" in c:
        return "landcover"
    return None


def _api_reason(exc: BaseException) -> str:
    import requests

    code = getattr(exc, "status_code", None)
    if code:
        return f"HTTP {code}"
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, requests.ConnectionError) or isinstance(cause, requests.ConnectionError) \
            or "Connection refused" in str(exc) or "Max retries exceeded" in str(exc):
        return "could not connect"
    if isinstance(exc, requests.Timeout) or isinstance(cause, requests.Timeout):
        return "timed out"
    m = re.search(r"\b([45]\d\d)\b", str(exc))
    return f"HTTP {m.group(1)}" if m else _scrub(f"{type(exc).__name__}: {str(exc)[:160]}")


def search(catalog: str, collections: list[str], bbox: tuple[float, float, float, float], start: dt.date,
           end: dt.date, limit: int = 200) -> list[pystac.Item]:
    """Items over `bbox` (lon/lat, degrees) from a STAC API (needs internet): Landsat and MODIS between
    `start` and `end` (inclusive), the DEM and WorldCover whatever their date; items are returned
    unsigned (`fetch` signs each href just before reading it)."""
    from pystac_client import Client

    cat = catalog_of(catalog)
    bbox = check_bbox(bbox)
    if end < start:
        raise DataError(f"--end {end} is before --start {start}")
    wanted = collections_for(cat, collections)
    try:
        client = Client.open(cat.url)
        items: list[pystac.Item] = []
        for kind, coll in wanted:
            when = None if kind in STATIC_KINDS else f"{start.isoformat()}/{end.isoformat()}"
            found = list(client.search(collections=[coll], bbox=list(bbox), datetime=when, max_items=limit + 1).items())
            if len(found) > limit:  # never a silently truncated result
                raise DataError(f"more than {limit} {coll} items over the box between {start} and {end}; give a "
                                "shorter date range (--start/--end) or a smaller --bbox")
            items.extend(found)
        return items
    except DataError:
        raise
    except Exception as exc:  # pystac-client wraps requests' many failures in APIError, or lets them through
        raise DataError(f"could not search {cat.url} ({_api_reason(exc)}); check the internet connection or the "
                        "catalogue's status page, or place the files yourself as docs/real-data.md describes") from None


# ---------------------------------------------------------------------------------------------
# fetch


def _catalog_of_item(item: pystac.Item, catalog: Catalog | None) -> Catalog | None:
    if catalog is not None:
        return catalog
    for link in item.links:
        href = str(link.href or "")
        for cat in CATALOGS.values():
            if href.startswith(cat.url):
                return cat
    return None


def _day_of(item: pystac.Item) -> dt.date:
    if item.datetime is not None:
        return item.datetime.date()
    start = item.properties.get("start_datetime")
    if not start:
        raise DataError(f"STAC item {safe_name(item.id)} has no datetime or start_datetime")
    return dt.date.fromisoformat(str(start)[:10])


def _landsat_product_id(item: pystac.Item) -> str | None:
    for asset in item.assets.values():
        m = LANDSAT_ID_RE.match(Path(urlsplit(str(asset.href)).path).name)
        if m:
            return m.group(0)
    return None


def _fetch_landsat(item: pystac.Item, folder: Path, bbox, cat: Catalog | None) -> str:
    pid = _landsat_product_id(item)
    if pid is None:
        raise DataError(f"STAC item {safe_name(item.id)}: no asset is named like a Landsat 8/9 Collection 2 "
                        "Level-2 product (LC08_L2SP_..._02_T1); only those are read")
    final = folder / "landsat" / pid
    if _covers(final / f"{pid}_SR_B5.TIF", bbox):
        return pid  # fetched before, for this box or a larger one
    # the scene is assembled outside landsat/ (readers never see half a scene) and moved in at the end
    partial = folder / ".stac-partial" / "landsat" / pid
    partial.mkdir(parents=True, exist_ok=True)
    where = f"STAC item {pid}"
    for key, band in LANDSAT_ASSETS.items():
        if key not in item.assets:
            if band in LANDSAT_REQUIRED:
                raise DataError(f"{where} has no {key!r} asset ({band}); the scene cannot be used")
            continue
        target = partial / f"{pid}_{band}.TIF"
        if not target.exists():
            href = sign(http_href(item.assets[key], where=f"{where} asset {key}"), cat)
            read_region([href], bbox, target, what=f"Landsat {band}")
    for key, suffix in MTL_ASSETS:
        if key in item.assets:
            download(sign(http_href(item.assets[key], where=f"{where} asset {key}"), cat), partial / f"{pid}_{suffix}")
            break
    else:
        raise DataError(f"{where} has no MTL asset (mtl.txt, mtl.json or mtl.xml); the scene's scale factors "
                        "cannot be checked")
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():  # a window of another box: this box replaces it
        shutil.rmtree(final)
    os.replace(partial, final)
    return pid


def _covers(path: Path, bbox: tuple[float, float, float, float]) -> bool:
    """Whether a raster fetched earlier is there and covers `bbox` (lon/lat): then it is not read again."""
    import rasterio
    from rasterio.warp import transform_bounds

    if not path.exists():
        return False
    try:
        with rasterio.open(path) as src:
            w, s, e, n = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
    except Exception:  # unreadable or without CRS: fetch again
        return False
    return w <= bbox[0] and s <= bbox[1] and e >= bbox[2] and n >= bbox[3]


def _modis_product(item: pystac.Item) -> str | None:
    m = re.match(r"(MOD09GA|MYD09GA)\b", item.id)
    return m.group(1) if m else None


def fetch(items: list[pystac.Item], folder: str | Path, progress: Callable[[int, int], None] | None = None, *,
          bbox: tuple[float, float, float, float], catalog: str | None = None) -> dict:
    """Put the items' assets over `bbox` (lon/lat, degrees) into the folder layout.

    `catalog` (a name or URL) says whether hrefs are signed; by default each item's links tell.
    Items that cannot be used are skipped with their reason; the others are still fetched.
    Returns counts per kind and `skipped_items` ([{"id", "reason"}]).
    """
    folder = Path(folder)
    bbox = check_bbox(bbox)
    cat = catalog_of(catalog) if catalog else None
    counts: dict = {"landsat_scenes": 0, "modis_days": 0, "dem_tiles": 0, "landcover_tiles": 0, "skipped": 0}
    skipped: list[dict[str, str]] = []
    modis: dict[dt.date, dict[str, list[pystac.Item]]] = {}
    dem: list[pystac.Item] = []
    landcover: dict[str, pystac.Item] = {}

    def skip(item: pystac.Item, reason: str) -> None:
        counts["skipped"] += 1
        skipped.append({"id": safe_name(item.id) if re.search(r"[A-Za-z0-9]", str(item.id)) else "?",
                        "reason": _scrub(reason)})

    done = [0]

    def tick(n: int = 1) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(items))

    for item in items:
        kind = kind_of_collection(item.collection_id or "")
        try:
            if kind == "landsat":
                _fetch_landsat(item, folder, bbox, _catalog_of_item(item, cat))
                counts["landsat_scenes"] += 1
            elif kind == "modis":
                product = _modis_product(item)
                if product is None:
                    raise DataError(f"STAC item {safe_name(item.id)} is not MOD09GA or MYD09GA")
                modis.setdefault(_day_of(item), {}).setdefault(product, []).append(item)
            elif kind == "dem":
                dem.append(item)
            elif kind == "landcover":
                # one item per tile: the newest map (WorldCover 2021 v200 over 2020 v100)
                tile = item.id.rsplit("_", 1)[-1]
                old = landcover.get(tile)
                if old is None or _day_of(item) > _day_of(old):
                    landcover[tile] = item
                    if old is not None:
                        skip(old, f"{safe_name(old.id)} left out: {safe_name(item.id)} is a newer map of the tile")
                elif old is not None:
                    skip(item, f"{safe_name(item.id)} left out: {safe_name(old.id)} is a newer map of the tile")
            else:
                raise DataError(f"collection {item.collection_id!r} is not one UNIQUE reads")
        except DataError as exc:
            skip(item, str(exc))
        if kind in ("landsat", None):
            tick()

    for day, products in sorted(modis.items()):
        product = next(p for p in MODIS_PRODUCTS if p in products)
        tiles = products[product]
        for other in (p for p in products if p != product):
            for item in products[other]:
                skip(item, f"{other} on {day} left out: {product} of the same day is used (one file per band and day)")
        stamp = f"A{day.year}{day.timetuple().tm_yday:03d}"
        try:
            for band in MODIS_ASSETS:
                target = folder / "modis" / day.isoformat() / f"{product}.{stamp}.{band}.tif"
                if _covers(target, bbox):
                    continue
                hrefs = []
                for item in tiles:
                    if band not in item.assets:
                        raise DataError(f"STAC item {safe_name(item.id)} has no {band} asset")
                    where = f"STAC item {safe_name(item.id)} asset {band}"
                    hrefs.append(sign(http_href(item.assets[band], where=where), _catalog_of_item(item, cat)))
                read_region(hrefs, bbox, target, what=f"MODIS {band}")
            counts["modis_days"] += 1
        except DataError as exc:
            for item in tiles:
                skip(item, str(exc))
        tick(sum(len(v) for v in products.values()))

    for kind, chosen, target, asset_key in (("dem", dem, folder / "dem" / "dem.tif", "data"),
                                            ("landcover", list(landcover.values()),
                                             folder / "landcover" / "landcover.tif", "map")):
        if not chosen:
            continue
        try:
            hrefs = []
            for item in chosen:
                asset = item.assets.get(asset_key)
                if asset is None:
                    raise DataError(f"STAC item {safe_name(item.id)} has no {asset_key!r} asset")
                hrefs.append(sign(http_href(asset, where=f"STAC item {safe_name(item.id)} asset {asset_key}"),
                                  _catalog_of_item(item, cat)))
            read_region(hrefs, bbox, target, what="DEM" if kind == "dem" else "land cover")
            counts["dem_tiles" if kind == "dem" else "landcover_tiles"] += len(chosen)
            if kind == "landcover":
                write_text(folder / "landcover" / "classes.csv",
                           "value,class\n" + "".join(f"{v},{c}\n" for v, c in WORLDCOVER.items()))
        except DataError as exc:
            for item in chosen:
                skip(item, str(exc))
        tick(len(chosen))
    if progress and done[0] < len(items):  # items left out as older WorldCover maps
        progress(len(items), len(items))
    staging = folder / ".stac-partial"
    for d in sorted(staging.rglob("*"), reverse=True) + [staging]:  # leave no empty staging folder behind
        with contextlib.suppress(OSError):
            d.rmdir()
    counts["skipped_items"] = skipped
    return counts


def ingest(out: str | Path, *, bbox: tuple[float, float, float, float], start: dt.date, end: dt.date,
           catalog: str = "planetary-computer", collections: Iterable[str] = KINDS,
           items_file: str | Path | None = None, save_items: str | Path | None = None,
           progress: Callable[[int, int], None] | None = None) -> dict:
    """`unique ingest stac`: search (or read recorded items from `items_file`), then fetch into `out`.

    Recorded items are filtered like a search: the kinds asked for, Landsat and MODIS between
    `start` and `end`. `save_items` writes the items (unsigned GeoJSON) for a later `items_file` run.
    """
    if items_file is not None:
        items_file = Path(items_file)
        try:
            items = list(pystac.ItemCollection.from_file(str(items_file)))
        except FileNotFoundError:
            raise DataError(f"{items_file}: no such file; give a JSON ItemCollection saved from a STAC "
                            "search") from None
        except Exception as exc:  # pystac raises several types for malformed JSON
            raise DataError(f"{items_file}: not a STAC ItemCollection ({_scrub(exc)[:160]}); save the search "
                            "result as GeoJSON (FeatureCollection of items)") from None
        wanted = {k for k, _ in collections_for(catalog_of(catalog), collections)}

        def asked(item: pystac.Item) -> bool:
            kind = kind_of_collection(item.collection_id or "")
            if kind is None:
                return True  # fetch lists it as skipped, with the reason
            if kind not in wanted:
                return False
            try:
                return kind in STATIC_KINDS or start <= _day_of(item) <= end
            except (DataError, ValueError):
                return True  # fetch reports the bad date
        items = [i for i in items if asked(i)]
    else:
        items = search(catalog, list(collections), bbox, start, end)
    if save_items is not None:
        write_text(save_items, json.dumps(pystac.ItemCollection(items).to_dict(transform_hrefs=False), indent=1))
    return fetch(items, out, progress, bbox=bbox, catalog=catalog)
