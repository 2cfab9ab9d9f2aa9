"""STAC ingest against recorded catalogue responses, served from 127.0.0.1 (no network).

tests/fixtures/stac/ holds responses in the shape of the Planetary Computer and Earth Search
STAC APIs (landing page, search pages with a `next` link, a SAS token). A local server plays
the catalogue, the SAS token endpoint and Azure blob storage: the recorded https blob hrefs are
served as http and reached through the server as an HTTP proxy, so the hosts, containers and
the signing step are exactly those of the real catalogue. Blobs answer 403 without the recorded
token, as Azure does. The rasters behind them are seeded COGs written here.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds

from unique_core.errors import DataError, RegionError
from unique_core.io import stac

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stac"
BBOX = (127.0, 37.6, 127.1, 37.7)
PC_API = "https://planetarycomputer.microsoft.com/api/stac/v1"
ES_API = "https://earth-search.aws.element84.com/v1"
TOKEN = json.loads((FIXTURES / "planetary-computer" / "sas-token.json").read_text())
SIG = parse_qs(TOKEN["token"])["sig"][0]
SINUSOIDAL = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"
L8 = "LC08_L2SP_116034_20230715_20230725_02_T1"
L9 = "LC09_L2SP_116034_20230723_20230725_02_T1"


class Catalogue(http.server.ThreadingHTTPServer):
    """Plays the STAC API, the SAS endpoint and blob storage; also a plain file server on /files/."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.blobs: dict[str, bytes] = {}  # "host/path" -> bytes
        self.files: dict[str, bytes] = {}  # "/files/..." -> bytes
        self.status: dict[str, int] = {}  # path -> forced status
        self.ignore_range: set[str] = set()
        self.truncate: dict[str, int] = {}  # path -> bytes sent before the connection is dropped
        self.busy: dict[str, int] = {}  # path -> how many 503 answers come first
        self.token_status = 200
        self.log: list[dict] = []
        self.bodies: list[dict] = []
        self.lock = threading.Lock()

    def rewrite(self, text: str) -> str:
        text = text.replace(PC_API, f"{self.base}/pc/api/stac/v1").replace(ES_API, f"{self.base}/es/v1")
        return re.sub(r"https://([a-z0-9]+\.blob\.core\.windows\.net)/", r"http://\1/", text)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Catalogue

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def _where(self):
        u = urlsplit(self.path)
        host = u.netloc if u.netloc and not u.netloc.startswith("127.0.0.1") else ""
        return host, u.path, parse_qs(u.query)

    def _send(self, code, body=b"", ctype="application/json", headers=None, head=False):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _bytes(self, key, body, head=False):
        import hashlib

        etag = '"' + hashlib.md5(body).hexdigest() + '"'
        rng = self.headers.get("Range")
        if self.headers.get("If-Range") not in (None, etag):  # changed since the part was started: all of it
            rng = None
        if key in self.server.busy:
            self.server.busy[key] -= 1
            if self.server.busy[key] == 0:
                del self.server.busy[key]
            self._send(503, b"busy", head=head)
            return
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if key in self.server.truncate and not head:
            cut = self.server.truncate.pop(key)
            self.entry["sent"] = cut
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        if m and key not in self.server.ignore_range:
            a = int(m.group(1))
            if a >= len(body):
                self._send(416, headers={"Content-Range": f"bytes */{len(body)}"}, head=head)
                return
            e = min(int(m.group(2)) if m.group(2) else len(body) - 1, len(body) - 1)
            chunk = body[a:e + 1]
            self.entry["sent"] = 0 if head else len(chunk)
            self._send(206, chunk, "application/octet-stream",
                       {"Content-Range": f"bytes {a}-{e}/{len(body)}", "Accept-Ranges": "bytes", "ETag": etag}, head)
        else:
            self.entry["sent"] = 0 if head else len(body)
            self._send(200, body, "application/octet-stream", {"Accept-Ranges": "bytes", "ETag": etag}, head)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        host, path, query = self._where()
        srv = self.server
        # logged before any byte is sent: a client that has its whole answer may look at the log at once
        self.entry = {"method": self.command, "host": host, "path": path, "query": query,
                      "range": self.headers.get("Range"), "sent": 0}
        with srv.lock:
            srv.log.append(self.entry)
        if path in srv.status:
            self._send(srv.status[path], b'{"code": "error"}', head=head)
        elif host.endswith(".blob.core.windows.net"):
            key = host + path
            if query.get("sig", [None])[0] != SIG:  # Azure's answer to an unsigned or wrongly signed read
                self._send(403, b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                           b'<Message>Server failed to authenticate the request.</Message></Error>',
                           "application/xml", head=head)
            elif key in srv.blobs:
                self._bytes(key, srv.blobs[key], head)
            else:
                self._send(404, b'<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code></Error>',
                           "application/xml", head=head)
        elif path.startswith("/api/sas/v1/token/"):
            self._send(srv.token_status, json.dumps(TOKEN).encode() if srv.token_status == 200 else b"{}", head=head)
        elif path.startswith("/files/") and path in srv.files:
            self._bytes(path, srv.files[path], head)
        elif path.rstrip("/") in ("/pc/api/stac/v1", "/es/v1"):
            cat = "planetary-computer" if path.startswith("/pc") else "earth-search"
            self._send(200, srv.rewrite((FIXTURES / cat / "landing.json").read_text()).encode(), head=head)
        else:
            self._send(404, b'{"detail": "Not Found"}', head=head)

    def do_POST(self):
        host, path, _ = self._where()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        srv = self.server
        with srv.lock:
            srv.bodies.append({"path": path, **body})
            srv.log.append({"method": "POST", "host": host, "path": path, "query": {}, "range": None, "sent": 0})
        if path in srv.status:
            return self._send(srv.status[path], b'{"code": "error"}')
        cat = "planetary-computer" if path.startswith("/pc/") else "earth-search" if path.startswith("/es/") else None
        coll = (body.get("collections") or ["?"])[0]
        name = f"search-{coll}" + ("-2" if body.get("token") else "-1" if cat == "planetary-computer"
                                   and (FIXTURES / cat / f"search-{coll}-1.json").exists() else "")
        f = FIXTURES / (cat or "-") / f"{name}.json"
        if cat is None or not path.endswith("/search") or not f.exists():
            return self._send(200, json.dumps({"type": "FeatureCollection", "features": [], "links": []}).encode())
        self._send(200, srv.rewrite(f.read_text()).encode(), "application/geo+json")


@pytest.fixture
def server(monkeypatch):
    import planetary_computer.sas as pcs
    from planetary_computer.settings import Settings

    srv = Catalogue()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    for var in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("http_proxy", srv.base)  # urllib, requests and curl (GDAL) all honour it
    monkeypatch.setenv("GDAL_HTTP_PROXY", srv.base)
    monkeypatch.setitem(stac.CATALOGS, "planetary-computer",
                        stac.Catalog("planetary-computer", f"{srv.base}/pc/api/stac/v1", True))
    monkeypatch.setitem(stac.CATALOGS, "earth-search", stac.Catalog("earth-search", f"{srv.base}/es/v1", False))
    monkeypatch.setattr(Settings.get(), "sas_url", f"{srv.base}/api/sas/v1/token")
    pcs.TOKEN_CACHE.clear()
    yield srv
    pcs.TOKEN_CACHE.clear()
    srv.shutdown()
    srv.server_close()


def _cog(tmp_path, name, data, crs, transform, nodata=None, tags=None, scale=None):
    path = tmp_path / "cogs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="COG", height=data.shape[0], width=data.shape[1], count=1,
                       dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata, blocksize=256,
                       compress="deflate", level=1, overviews="NONE") as dst:
        dst.write(data, 1)
        if tags:
            dst.update_tags(1, **tags)
        if scale:
            dst.scales = (scale,)
    return path.read_bytes()


def _blob_key(href: str) -> str:
    u = urlsplit(href)
    return u.netloc + u.path


def _mtl(pid: str, day: str) -> bytes:
    lines = ["GROUP = LANDSAT_METADATA_FILE", "  GROUP = PRODUCT_CONTENTS", f'    LANDSAT_PRODUCT_ID = "{pid}"',
             '    PROCESSING_LEVEL = "L2SP"', "  END_GROUP = PRODUCT_CONTENTS", "  GROUP = IMAGE_ATTRIBUTES",
             f"    DATE_ACQUIRED = {day}", "  END_GROUP = IMAGE_ATTRIBUTES",
             "  GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS"]
    for b in range(1, 8):
        lines += [f"    REFLECTANCE_MULT_BAND_{b} = 2.75e-05", f"    REFLECTANCE_ADD_BAND_{b} = -0.200000"]
    lines += ["  END_GROUP = LEVEL2_SURFACE_REFLECTANCE_PARAMETERS", "END_GROUP = LANDSAT_METADATA_FILE", "END"]
    return ("\n".join(lines) + "\n").encode()


def _serve_catalogue_rasters(srv: Catalogue, tmp_path) -> dict:
    """Seeded COGs behind every recorded href that the fetch should read; returns the source arrays."""
    rng = np.random.default_rng(15)
    pages = {f.stem: json.loads(f.read_text()) for f in (FIXTURES / "planetary-computer").glob("search-*.json")}
    items = {i["id"]: i for p in pages.values() for i in p["features"]}
    src = {}
    # Landsat: UTM 52N, 30 m, over the box; the NIR band of LC08 much larger than the window
    x0, y0, x1, y1 = transform_bounds("EPSG:4326", "EPSG:32652", *BBOX)
    for iid, pid in (("LC08_L2SP_116034_20230715_02_T1", L8), ("LC09_L2SP_116034_20230723_02_T1", L9)):
        assets = items[iid]["assets"]
        for key, band in stac.LANDSAT_ASSETS.items():
            n = 2048 if (pid == L8 and band == "SR_B5") else 768
            left, top = (x0 + x1) / 2 - n * 15 // 30 * 30, (y0 + y1) / 2 + n * 15 // 30 * 30
            left, top = left - left % 30, top - top % 30
            data = (np.full((n, n), 21824, "uint16") if band == "QA_PIXEL" else
                    np.zeros((n, n), "uint16") if band == "QA_RADSAT" else
                    rng.integers(7000, 20000, (n, n)).astype("uint16"))
            t = from_origin(left, top, 30, 30)
            srv.blobs[_blob_key(assets[key]["href"])] = _cog(tmp_path, f"{pid}_{band}.TIF", data, "EPSG:32652", t,
                                                             nodata=None if band.startswith("QA") else 0)
            src[(pid, band)] = (data, t)
        srv.blobs[_blob_key(assets["mtl.txt"]["href"])] = _mtl(pid, f"{pid[17:21]}-{pid[21:23]}-{pid[23:25]}")
    # MOD09GA h28v05: the real tile corner, 463.3 m cells; MYD09GA is never read (Terra first)
    mod = items["MOD09GA.A2023196.h28v05.061.2023198032339"]["assets"]
    t = from_origin(11119505.196667, 4447802.078667, 463.312716528, 463.312716528)
    for band in stac.MODIS_ASSETS:
        data = (rng.integers(0, 1 << 12, (800, 800)).astype("uint16") if band == "state_1km"
                else rng.integers(100, 5000, (800, 800)).astype("int16"))
        srv.blobs[_blob_key(mod[band]["href"])] = _cog(
            tmp_path, f"MOD_{band}.tif", data, SINUSOIDAL, t, nodata=None if band == "state_1km" else -28672,
            tags=None if band == "state_1km" else {"scale_factor": "0.0001"})
        src[("modis", band)] = (data, t)
    # Copernicus DEM, two 1-degree tiles side by side (the box's margin crosses 127 E)
    for lon in (126, 127):
        iid = f"Copernicus_DSM_COG_10_N37_00_E{lon}_00_DEM"
        yy, xx = np.mgrid[0:1000, 0:1000]
        data = (300 + 0.5 * xx + 0.2 * yy + rng.normal(0, 3, (1000, 1000))).astype("float32") + (lon - 126) * 500
        t = from_origin(lon - 0.0005, 38.0005, 0.001, 0.001)
        srv.blobs[_blob_key(items[iid]["assets"]["data"]["href"])] = _cog(tmp_path, f"{iid}.tif", data, "EPSG:4326", t)
        src[("dem", lon)] = (data, t)
    # WorldCover 2021 (v200) only: the 2020 map of the same tile must not be read
    data = rng.choice(np.array([10, 20, 30, 40, 50, 80, 90], "uint8"), (1000, 1000))
    t = from_origin(126.0, 39.0, 0.003, 0.003)
    srv.blobs[_blob_key(items["ESA_WorldCover_10m_2021_v200_N36E126"]["assets"]["map"]["href"])] = _cog(
        tmp_path, "wc.tif", data, "EPSG:4326", t, nodata=0)
    src["landcover"] = (data, t)
    return src


def _same_as_source(path, data, transform):
    """The fetched file holds exactly the source's pixels at its place (a window, not a resampling)."""
    with rasterio.open(path) as out:
        got = out.read(1)
        col = (out.transform.c - transform.c) / transform.a
        row = (out.transform.f - transform.f) / transform.e
        assert abs(col - round(col)) < 1e-6 and abs(row - round(row)) < 1e-6
        r, c = int(round(row)), int(round(col))
        np.testing.assert_array_equal(got, data[r:r + out.height, c:c + out.width])
        return out.bounds, out.crs


def test_ingest__planetary_computer_recorded_search_signed_windowed_into_the_layout(server, tmp_path):
    src = _serve_catalogue_rasters(server, tmp_path)
    out = tmp_path / "data"
    seen = []
    counts = stac.ingest(out, bbox=BBOX, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 31),
                         catalog="planetary-computer", collections=["landsat", "modis", "dem", "landcover"],
                         progress=lambda k, n: seen.append((k, n)))
    skipped = counts.pop("skipped_items")
    assert counts == {"landsat_scenes": 2, "modis_days": 1, "dem_tiles": 2, "landcover_tiles": 1, "skipped": 2}
    reasons = {s["id"]: s["reason"] for s in skipped}
    assert "MOD09GA" in reasons["MYD09GA.A2023196.h28v05.061.2023198040155"]  # Terra first, one file per band and day
    assert "newer map" in reasons["ESA_WorldCover_10m_2020_v100_N36E126"]
    assert seen and seen[-1][0] == seen[-1][1]

    # the search: both pages of Landsat, dates only for the dated collections
    searches = [b for b in server.bodies if b["path"].endswith("/search")]
    assert [b["collections"][0] for b in searches] == ["landsat-c2-l2", "landsat-c2-l2", "modis-09GA-061",
                                                       "cop-dem-glo-30", "esa-worldcover"]
    assert searches[1]["token"].startswith("next:")
    assert all(("datetime" in b) == (b["collections"][0] in ("landsat-c2-l2", "modis-09GA-061")) for b in searches)
    assert all(b["bbox"] == list(BBOX) for b in searches)
    # signing: one token per container, and every blob read carried it
    tokens = sorted(e["path"] for e in server.log if e["path"].startswith("/api/sas/"))
    assert tokens == [f"/api/sas/v1/token/{c}" for c in ("ai4edataeuwest/esa-worldcover", "elevationeuwest/copernicus-dem",
                                                         "landsateuwest/landsat-c2", "modiseuwest/modis-061-cogs")]
    blob_reads = [e for e in server.log if e["host"].endswith(".blob.core.windows.net")]
    assert blob_reads and all(e["query"]["sig"] == [SIG] for e in blob_reads)
    assert not any("MYD09GA" in e["path"] or "v100" in e["path"] for e in blob_reads)
    # the token is in no file written
    for f in out.rglob("*"):
        if f.is_file() and f.suffix.lower() in (".txt", ".csv", ".json"):
            assert SIG not in f.read_text()

    # Landsat: a window of each band, exactly the source pixels, and only a part of the scene transferred
    for pid in (L8, L9):
        scene = out / "landsat" / pid
        assert sorted(p.name for p in scene.iterdir()) == sorted(
            [f"{pid}_{b}.TIF" for b in stac.LANDSAT_ASSETS.values()] + [f"{pid}_MTL.txt"])
        for band in ("SR_B5", "QA_PIXEL"):
            bounds, crs = _same_as_source(scene / f"{pid}_{band}.TIF", *src[(pid, band)])
            w, s, e, n = transform_bounds(crs, "EPSG:4326", *bounds)
            assert w <= BBOX[0] and s <= BBOX[1] and e >= BBOX[2] and n >= BBOX[3]
    nir = next(k for k in server.blobs if k.endswith(f"{L8}_SR_B5.TIF"))
    sent = sum(e["sent"] for e in blob_reads if (e["host"] + e["path"]) == nir)
    assert 0 < sent < 0.25 * len(server.blobs[nir]), (sent, len(server.blobs[nir]))
    assert not (out / ".stac-partial").exists()
    from unique_core.io.landsat import discover

    scenes = {s.product_id: s for s in discover(out / "landsat")}
    assert set(scenes) == {L8, L9} and all(s.usable for s in scenes.values()), [s.problems for s in scenes.values()]

    # MODIS: one file per band for the day, sinusoidal windows with the scale factor kept
    from unique_core.io.modis import discover as discover_modis

    day = out / "modis" / "2023-07-15"
    assert sorted(p.name for p in day.iterdir()) == sorted(f"MOD09GA.A2023196.{b}.tif" for b in stac.MODIS_ASSETS)
    _same_as_source(day / "MOD09GA.A2023196.sur_refl_b01.tif", *src[("modis", "sur_refl_b01")])
    with rasterio.open(day / "MOD09GA.A2023196.sur_refl_b01.tif") as m:
        assert m.tags(1)["scale_factor"] == "0.0001" and m.nodata == -28672
    assert discover_modis(out / "modis")[dt.date(2023, 7, 15)].usable

    # DEM: the two tiles mosaicked over the box, each part exactly its tile's pixels
    with rasterio.open(out / "dem" / "dem.tif") as d:
        dem = d.read(1)
        assert d.crs.to_epsg() == 4326 and d.bounds.left < 127.0 < d.bounds.right
        for lon in (126, 127):
            data, t = src[("dem", lon)]
            col0 = int(round((d.transform.c - t.c) / t.a))
            row0 = int(round((d.transform.f - t.f) / t.e))
            inside = [(r, c) for r, c in ((3, 3), (3, d.width - 4), (d.height - 4, 3), (d.height - 4, d.width - 4))
                      if 0 <= row0 + r < 1000 and 0 <= col0 + c < 1000]
            assert inside
            for r, c in inside:
                assert dem[r, c] == data[row0 + r, col0 + c]
    # WorldCover: the newest map, its window, and the class table
    _same_as_source(out / "landcover" / "landcover.tif", *src["landcover"])
    assert "80,water" in (out / "landcover" / "classes.csv").read_text()

    # a second run finds everything in place and reads no raster again
    server.log.clear()
    again = stac.ingest(out, bbox=BBOX, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 31),
                        catalog="planetary-computer", collections=["landsat", "modis"])
    assert again["landsat_scenes"] == 2 and again["modis_days"] == 1
    assert not [e for e in server.log if e["host"].endswith(".blob.core.windows.net")]
    # another box: the windows of the first one do not cover it, so they are replaced
    other = (127.03, 37.62, 127.13, 37.72)
    stac.ingest(out, bbox=other, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 31),
                catalog="planetary-computer", collections=["landsat"])
    bounds, crs = _same_as_source(out / "landsat" / L8 / f"{L8}_SR_B5.TIF", *src[(L8, "SR_B5")])
    w, s, e, n = transform_bounds(crs, "EPSG:4326", *bounds)
    assert w <= other[0] and s <= other[1] and e >= other[2] and n >= other[3]


def test_fetch__unsigned_reads_of_planetary_computer_blobs_are_refused_by_storage(server, tmp_path):
    page = json.loads(server.rewrite((FIXTURES / "planetary-computer" / "search-cop-dem-glo-30.json").read_text()))
    items = [pystac.Item.from_dict(f) for f in page["features"]]
    counts = stac.fetch(items, tmp_path / "data", bbox=BBOX, catalog="earth-search")  # a catalogue that does not sign
    assert counts["dem_tiles"] == 0 and counts["skipped"] == 2
    reason = counts["skipped_items"][0]["reason"]
    assert "403" in reason and "must be signed" in reason and "\n" not in reason and "sig=" not in reason
    assert not (tmp_path / "data" / "dem" / "dem.tif").exists()


def test_sign__recorded_token_is_appended_and_old_tokens_replaced(server):
    href = ("https://landsateuwest.blob.core.windows.net/landsat-c2/level-2/standard/oli-tirs/2023/116/034/"
            f"{L8}/{L8}_SR_B2.TIF")
    signed = stac.sign(href + "?st=2020-01-01&se=2020-01-02&sp=rl&sig=expired", stac.CATALOGS["planetary-computer"])
    assert signed == f"{href}?{TOKEN['token']}"
    assert stac.sign(href, stac.CATALOGS["earth-search"]) == href  # Earth Search does not sign
    assert stac.sign("https://example.org/x.tif", stac.CATALOGS["planetary-computer"]) == "https://example.org/x.tif"


def test_sign__token_endpoint_refusing_or_down_is_one_line(server, monkeypatch):
    server.token_status = 403
    href = "https://elevationeuwest.blob.core.windows.net/copernicus-dem/COP30_hh/x.tif"
    with pytest.raises(DataError, match=r"refused a SAS token for elevationeuwest/copernicus-dem \(HTTP 403\)"):
        stac.sign(href, stac.CATALOGS["planetary-computer"])
    from planetary_computer.settings import Settings

    monkeypatch.delenv("http_proxy")  # straight to a port where nothing listens
    Settings.get().sas_url = f"http://127.0.0.1:{_free_port()}/api/sas/v1/token"
    with pytest.raises(DataError, match=r"could not get a Planetary Computer SAS token .*check the internet") as e:
        stac.sign(href, stac.CATALOGS["planetary-computer"])
    assert "\n" not in str(e.value)


def test_search__earth_search_landsat_is_refused_as_requester_pays_and_dem_goes_to_https(server, tmp_path):
    items = stac.search("earth-search", ["landsat", "dem"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    assert [i.collection_id for i in items] == ["landsat-c2-l2", "cop-dem-glo-30", "cop-dem-glo-30"]
    dem_href = stac.http_href(items[1].assets["data"])
    assert dem_href == ("https://copernicus-dem-30m.s3.amazonaws.com/Copernicus_DSM_COG_10_N37_00_E127_00_DEM/"
                        "Copernicus_DSM_COG_10_N37_00_E127_00_DEM.tif")
    counts = stac.fetch(items[:1], tmp_path / "data", bbox=BBOX, catalog="earth-search")
    assert counts["landsat_scenes"] == 0 and counts["skipped"] == 1
    assert "requester-pays bucket s3://usgs-landsat" in counts["skipped_items"][0]["reason"]
    assert "--catalog planetary-computer" in counts["skipped_items"][0]["reason"]
    assert not [e for e in server.log if "usgs-landsat" in e["host"] + e["path"]]
    with pytest.raises(DataError, match="earth-search has no modis collection; use --catalog planetary-computer"):
        stac.search("earth-search", ["modis"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    with pytest.raises(DataError, match="collection 'sentinel-2-l2a' is not one UNIQUE can put into the folder"):
        stac.search("earth-search", ["sentinel-2-l2a"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    with pytest.raises(DataError, match="unknown catalogue 'usgs'"):
        stac.search("usgs", ["dem"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("status", [404, 500])
def test_search__http_errors_are_one_line(server, status):
    server.status["/pc/api/stac/v1/"] = status
    server.status["/pc/api/stac/v1"] = status
    with pytest.raises(DataError, match=rf"could not search http://127\.0\.0\.1:\d+/pc/api/stac/v1 \(HTTP {status}\)") \
            as e:
        stac.search("planetary-computer", ["dem"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    assert "\n" not in str(e.value)


def test_search__refused_port_is_one_line(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    url = f"http://127.0.0.1:{_free_port()}/api/stac/v1"
    with pytest.raises(DataError, match=r"could not search .* \(could not connect\); check the internet") as e:
        stac.search(url, ["dem"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31))
    assert "\n" not in str(e.value)


def test_download__resumes_a_partial_file_with_a_range_request(server, tmp_path):
    body = np.random.default_rng(3).integers(0, 256, 200_000).astype("uint8").tobytes()
    server.files["/files/a.bin"] = body
    target = tmp_path / "dl" / "a.bin"
    part = target.with_name(".a.bin.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:70_000])
    stac.download(f"{server.base}/files/a.bin", target)
    assert target.read_bytes() == body and not part.exists()
    gets = [e for e in server.log if e["path"] == "/files/a.bin"]
    assert gets[-1]["range"] == "bytes=70000-" and gets[-1]["sent"] == 130_000
    # already there: no request at all
    n = len(server.log)
    stac.download(f"{server.base}/files/a.bin", target)
    assert len(server.log) == n


def test_download__dropped_connection_keeps_the_part_and_the_next_run_completes(server, tmp_path):
    body = np.random.default_rng(4).integers(0, 256, 300_000).astype("uint8").tobytes()
    server.files["/files/b.bin"] = body
    server.truncate["/files/b.bin"] = 150_000
    target = tmp_path / "b.bin"
    with pytest.raises(DataError, match=r"download of http://127\.0\.0\.1:\d+/files/b\.bin stopped at 150000 of "
                                        r"300000 bytes; run the same command again \(it resumes\)"):
        stac.download(f"{server.base}/files/b.bin", target, chunk=1 << 16)
    part = tmp_path / ".b.bin.part"
    assert not target.exists() and part.stat().st_size == 150_000
    stac.download(f"{server.base}/files/b.bin", target)
    assert target.read_bytes() == body
    assert server.log[-1]["range"] == "bytes=150000-"


def test_download__file_changed_on_the_server_is_not_spliced(server, tmp_path):
    old = bytes(range(256)) * 300
    new = bytes(reversed(range(256))) * 320
    server.files["/files/d.bin"] = old
    server.truncate["/files/d.bin"] = 20_000
    target = tmp_path / "d.bin"
    with pytest.raises(DataError, match="stopped at 20000"):
        stac.download(f"{server.base}/files/d.bin", target)
    server.files["/files/d.bin"] = new  # the catalogue replaced the file meanwhile
    stac.download(f"{server.base}/files/d.bin", target)
    assert target.read_bytes() == new
    assert server.log[-1]["range"] == "bytes=20000-" and server.log[-1]["sent"] == len(new)


def test_download__busy_server_is_retried(server, tmp_path):
    server.files["/files/e.bin"] = b"x" * 5000
    server.busy["/files/e.bin"] = 2
    stac.download(f"{server.base}/files/e.bin", tmp_path / "e.bin", backoff_s=0.01)
    assert (tmp_path / "e.bin").read_bytes() == b"x" * 5000
    server.busy["/files/f.bin"] = 3
    server.files["/files/f.bin"] = b"y"
    with pytest.raises(DataError, match=r"f\.bin: HTTP 503"):
        stac.download(f"{server.base}/files/f.bin", tmp_path / "f.bin", backoff_s=0.01)


def test_download__server_ignoring_range_starts_over(server, tmp_path):
    body = bytes(range(256)) * 400
    server.files["/files/c.bin"] = body
    server.ignore_range.add("/files/c.bin")
    target = tmp_path / "c.bin"
    (tmp_path / ".c.bin.part").write_bytes(b"garbage that is not the start of the file")
    stac.download(f"{server.base}/files/c.bin", target)
    assert target.read_bytes() == body


@pytest.mark.parametrize("status", [404, 500])
def test_download__http_errors_are_one_line_and_leave_no_file(server, tmp_path, status):
    server.status["/files/gone.bin"] = status
    with pytest.raises(DataError, match=rf"could not download http://127\.0\.0\.1:\d+/files/gone\.bin: HTTP {status}") \
            as e:
        stac.download(f"{server.base}/files/gone.bin", tmp_path / "gone.bin")
    assert "\n" not in str(e.value) and not list(tmp_path.iterdir())


def test_download__refused_port_is_one_line(tmp_path, monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(DataError, match=r"could not download http://127\.0\.0\.1:\d+/x\.tif: connection refused; "
                                        r"check the internet connection"):
        stac.download(f"http://127.0.0.1:{_free_port()}/x.tif", tmp_path / "x.tif")


def test_read_region__remote_404_and_refused_port_are_one_line(server, tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"could not read DEM http://127\.0\.0\.1:\d+/files/none\.tif \(.*404") as e:
        stac.read_region([f"{server.base}/files/none.tif"], BBOX, tmp_path / "d.tif", what="DEM")
    assert "\n" not in str(e.value)
    monkeypatch.delenv("http_proxy")
    monkeypatch.delenv("GDAL_HTTP_PROXY")
    with pytest.raises(DataError, match=r"could not read DEM http://127\.0\.0\.1:\d+/y\.tif \(.*\); check the "
                                        r"internet"):
        stac.read_region([f"http://127.0.0.1:{_free_port()}/y.tif"], BBOX, tmp_path / "d.tif", what="DEM")
    assert not (tmp_path / "d.tif").exists()


def test_read_region__box_outside_the_raster_is_refused(server, tmp_path):
    data = np.ones((100, 100), "float32")
    server.files["/files/far.tif"] = _cog(tmp_path, "far.tif", data, "EPSG:4326", from_origin(10.0, 50.0, 0.01, 0.01))
    with pytest.raises(DataError, match=r"the DEM from .*far\.tif does not cover the box"):
        stac.read_region([f"{server.base}/files/far.tif"], BBOX, tmp_path / "d.tif", what="DEM")


@pytest.mark.parametrize("href, match", [
    ("file:///data/x.tif", "is a local path, not an http"),
    ("/data/x.tif", "is a local path, not an http"),
    ("./x.tif", "is a local path, not an http"),
    ("x.tif", "is a local path, not an http"),
    ("C:/data/x.tif", "is a local path, not an http"),
    ("ftp://host/x.tif", "is not an http"),
    ("s3://usgs-landsat/collection02/x.TIF", "requester-pays bucket s3://usgs-landsat"),
    ("s3://some-private-bucket/x.tif", "does not know to be public"),
])
def test_http_href__non_http_hrefs_are_refused(href, match):
    with pytest.raises(DataError, match=match):
        stac.http_href(pystac.Asset(href=href), where="STAC item x asset data")


def test_http_href__https_alternate_and_public_s3_are_used():
    asset = pystac.Asset(href="s3://usgs-landsat/a/b.TIF", extra_fields={
        "alternate": {"https": {"href": "https://mirror.example.org/a/b.TIF"}}})
    assert stac.http_href(asset) == "https://mirror.example.org/a/b.TIF"
    assert stac.http_href(pystac.Asset(href="s3://esa-worldcover/v200/2021/map/t.tif")) == \
        "https://esa-worldcover.s3.eu-central-1.amazonaws.com/v200/2021/map/t.tif"


def test_fetch__local_asset_hrefs_are_not_copied(tmp_path):
    local = tmp_path / "secret.tif"
    local.write_bytes(b"not to be copied")
    item = pystac.Item(id="Copernicus_DSM_COG_10_N37_00_E127_00_DEM", geometry=None, bbox=None,
                       datetime=dt.datetime(2021, 4, 22, tzinfo=dt.timezone.utc), properties={},
                       collection="cop-dem-glo-30")
    item.add_asset("data", pystac.Asset(href=str(local)))
    counts = stac.fetch([item], tmp_path / "data", bbox=BBOX)
    assert counts["skipped"] == 1 and "is a local path" in counts["skipped_items"][0]["reason"]
    assert not (tmp_path / "data" / "dem").exists()


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "..", "a/b\\c", "x" * 500, "LC08/../../evil", ".hidden",
                                     "tile\x00name", "名前 with spaces"])
def test_safe_name__hostile_ids_cannot_leave_the_folder(hostile):
    name = stac.safe_name(hostile) if re.search(r"[A-Za-z0-9]", hostile) else None
    if name is None:
        with pytest.raises(DataError, match="has no usable characters for a file name"):
            stac.safe_name(hostile)
        return
    assert "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
    assert not name.startswith(".") and 0 < len(name) <= stac.MAX_NAME
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)


def test_fetch__hostile_landsat_item_writes_nothing_outside_the_folder(server, tmp_path):
    item = pystac.Item(id="../../../../tmp/evil", geometry=None, bbox=None,
                       datetime=dt.datetime(2023, 7, 15, tzinfo=dt.timezone.utc), properties={},
                       collection="landsat-c2-l2")
    for key in stac.LANDSAT_ASSETS:
        item.add_asset(key, pystac.Asset(href=f"{server.base}/files/..%2F..%2Fevil_{key}.TIF"))
    out = tmp_path / "data"
    counts = stac.fetch([item], out, bbox=BBOX)
    assert counts["skipped"] == 1 and counts["skipped_items"][0]["id"] == "tmp_evil"
    assert "Landsat 8/9 Collection 2 Level-2" in counts["skipped_items"][0]["reason"]
    assert not [e for e in server.log if "evil" in e["path"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == (["data"] if out.exists() else [])


@pytest.mark.parametrize("bbox, match", [
    ((127.1, 37.6, 127.0, 37.7), "is not a box"),
    ((127.0, 95.0, 127.1, 96.0), "is not a box"),
    ((126.0, 36.0, 128.0, 37.0), "fetch at most 1.0 degree a side"),
    (("a", 1, 2, 3), "is not four numbers"),
])
def test_check_bbox__bad_boxes_are_refused(bbox, match):
    with pytest.raises(RegionError, match=match):
        stac.check_bbox(bbox)


def test_ingest__items_file_missing_or_malformed(tmp_path):
    with pytest.raises(DataError, match=r"items\.json: no such file; give a JSON ItemCollection"):
        stac.ingest(tmp_path / "d", bbox=BBOX, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 2),
                    items_file=tmp_path / "items.json")
    (tmp_path / "bad.json").write_text('{"type": "FeatureCollection", "features": [{"id": 3}]')
    with pytest.raises(DataError, match=r"bad\.json: not a STAC ItemCollection"):
        stac.ingest(tmp_path / "d", bbox=BBOX, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 2),
                    items_file=tmp_path / "bad.json")


def test_search__more_items_than_the_limit_is_refused_not_truncated(server):
    with pytest.raises(DataError, match=r"more than 1 landsat-c2-l2 items over the box between 2023-07-01 and "
                                        r"2023-07-31; give a shorter date range"):
        stac.search("planetary-computer", ["landsat"], BBOX, dt.date(2023, 7, 1), dt.date(2023, 7, 31), limit=1)


def test_ingest__saved_items_are_read_back_with_the_same_filters(server, tmp_path):
    saved = tmp_path / "items.json"
    first = stac.ingest(tmp_path / "a", bbox=BBOX, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 31),
                        catalog="earth-search", collections=["landsat"], save_items=saved)
    assert first["skipped"] == 1 and "requester-pays" in first["skipped_items"][0]["reason"]
    recorded = json.loads(saved.read_text())
    assert [f["id"] for f in recorded["features"]] == ["LC08_L2SP_116034_20230715_02_T1"]
    server.log.clear()
    again = stac.ingest(tmp_path / "b", bbox=BBOX, start=dt.date(2023, 7, 1), end=dt.date(2023, 7, 31),
                        catalog="earth-search", collections=["landsat"], items_file=saved)
    assert again == first and not server.log  # no search: the recorded items
    outside = stac.ingest(tmp_path / "c", bbox=BBOX, start=dt.date(2023, 8, 1), end=dt.date(2023, 8, 31),
                          catalog="earth-search", collections=["landsat"], items_file=saved)
    assert outside["skipped"] == 0 and outside["landsat_scenes"] == 0  # dated 2023-07-15: not asked for


def test_search__end_before_start_is_refused(server):
    with pytest.raises(DataError, match="--end 2023-07-01 is before --start 2023-07-31"):
        stac.search("planetary-computer", ["dem"], BBOX, dt.date(2023, 7, 31), dt.date(2023, 7, 1))
