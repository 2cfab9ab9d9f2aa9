"""Facts about South Korea that the rest of UNIQUE leans on: places, peaks, cities, rivers, towers.

Coordinates are (longitude, latitude) in degrees, WGS84. Values marked "SCIENCE.md" come from
the project's science notes; the rest are approximate public facts chosen by us (rounded to
about 0.01 degree) so that the simulated country has its mountains, cities and rivers where
a Korean reader expects them. None of this is observed data; it only places the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Peak:
    name: str
    lon: float
    lat: float
    height_m: float


@dataclass(frozen=True)
class City:
    name: str
    lon: float
    lat: float
    population_m: float  # millions


@dataclass(frozen=True)
class Tower:
    code: str
    name: str
    lon: float
    lat: float
    pft: str  # FLUXNET IGBP code of the tower's footprint


PEAKS: tuple[Peak, ...] = (
    # SCIENCE.md
    Peak("Seoraksan", 128.47, 38.12, 1708),
    Peak("Odaesan", 128.54, 37.80, 1563),
    Peak("Taebaeksan", 128.92, 37.10, 1567),
    Peak("Sobaeksan", 128.48, 36.96, 1439),
    Peak("Deogyusan", 127.75, 35.86, 1614),
    Peak("Jirisan", 127.73, 35.34, 1915),
    Peak("Hallasan", 126.53, 33.36, 1947),
    # ours, approximate
    Peak("Hwaaksan", 127.50, 38.02, 1468),
    Peak("Gariwangsan", 128.56, 37.46, 1561),
    Peak("Chiaksan", 128.06, 37.37, 1288),
    Peak("Songnisan", 127.87, 36.54, 1058),
    Peak("Gayasan", 128.12, 35.82, 1430),
    Peak("Palgongsan", 128.69, 36.02, 1192),
    Peak("Gajisan", 129.00, 35.61, 1241),
    Peak("Juwangsan", 129.17, 36.40, 721),
    Peak("Mudeungsan", 126.99, 35.13, 1187),
    Peak("Gyeryongsan", 127.21, 36.34, 845),
    Peak("Naejangsan", 126.89, 35.48, 763),
    Peak("Wolchulsan", 126.70, 34.77, 809),
    Peak("Bukhansan", 126.98, 37.66, 836),
    Peak("Gwanaksan", 126.96, 37.44, 632),
)

# Mountain ranges as crest polylines with a crest height (m, before detail) and a half-width (km).
RANGES: tuple[tuple[str, float, float, tuple[tuple[float, float], ...]], ...] = (
    ("Baekdudaegan", 950.0, 22.0, (
        (128.39, 38.40), (128.47, 38.12), (128.54, 37.80), (128.80, 37.55), (128.95, 37.32),
        (128.92, 37.10), (128.48, 36.96), (128.12, 36.86), (127.87, 36.54), (127.95, 36.20),
        (127.75, 35.86), (127.58, 35.60), (127.73, 35.34))),
    ("Nakdong-jeongmaek", 620.0, 14.0, (
        (128.92, 37.10), (129.15, 36.75), (129.17, 36.40), (129.12, 36.00), (129.00, 35.61),
        (129.04, 35.30))),
    ("Honam-jeongmaek", 420.0, 14.0, (
        (127.58, 35.60), (127.30, 35.45), (126.89, 35.48), (126.99, 35.13), (126.85, 34.90),
        (126.70, 34.77))),
    ("Hannam-Gwangju", 430.0, 13.0, (
        (128.20, 38.10), (127.50, 38.02), (127.30, 37.80), (126.98, 37.66))),
    ("Charyeong", 330.0, 13.0, (
        (127.90, 36.90), (127.45, 36.75), (127.15, 36.50), (126.80, 36.55), (126.55, 36.75))),
    ("Sobaek-south", 520.0, 16.0, (
        (128.12, 35.82), (128.40, 35.55), (128.70, 35.35), (129.00, 35.61))),
    ("Taebaek-west", 600.0, 16.0, (
        (128.54, 37.80), (128.56, 37.46), (128.06, 37.37), (127.75, 37.10))),
)

CITIES: tuple[City, ...] = (
    # SCIENCE.md
    City("Seoul", 126.98, 37.57, 9.4),
    City("Busan", 129.08, 35.18, 3.3),
    City("Incheon", 126.71, 37.46, 3.0),
    City("Daegu", 128.60, 35.87, 2.4),
    City("Daejeon", 127.38, 36.35, 1.5),
    City("Gwangju", 126.85, 35.16, 1.4),
    City("Ulsan", 129.31, 35.54, 1.1),
    # ours, approximate
    City("Suwon", 127.01, 37.27, 1.2),
    City("Goyang", 126.83, 37.66, 1.1),
    City("Yongin", 127.18, 37.24, 1.0),
    City("Changwon", 128.68, 35.23, 1.0),
    City("Seongnam", 127.13, 37.42, 0.9),
    City("Hwaseong", 126.83, 37.20, 0.9),
    City("Cheongju", 127.49, 36.64, 0.85),
    City("Bucheon", 126.78, 37.50, 0.8),
    City("Namyangju", 127.22, 37.64, 0.7),
    City("Ansan", 126.83, 37.32, 0.65),
    City("Jeonju", 127.15, 35.82, 0.65),
    City("Cheonan", 127.15, 36.81, 0.65),
    City("Pyeongtaek", 127.09, 36.99, 0.57),
    City("Anyang", 126.95, 37.39, 0.55),
    City("Gimhae", 128.89, 35.23, 0.53),
    City("Pohang", 129.36, 36.02, 0.50),
    City("Jeju", 126.53, 33.50, 0.49),
    City("Gimpo", 126.72, 37.62, 0.48),
    City("Uijeongbu", 127.05, 37.74, 0.46),
    City("Gumi", 128.34, 36.12, 0.41),
    City("Sejong", 127.29, 36.48, 0.38),
    City("Wonju", 127.92, 37.34, 0.36),
    City("Jinju", 128.08, 35.18, 0.35),
    City("Yangsan", 129.04, 35.34, 0.35),
    City("Chuncheon", 127.73, 37.88, 0.28),
    City("Suncheon", 127.49, 34.95, 0.28),
    City("Iksan", 126.96, 35.95, 0.28),
    City("Yeosu", 127.66, 34.76, 0.28),
    City("Gunsan", 126.71, 35.97, 0.27),
    City("Gyeongju", 129.22, 35.86, 0.25),
    City("Geoje", 128.62, 34.88, 0.24),
    City("Mokpo", 126.39, 34.81, 0.22),
    City("Gangneung", 128.90, 37.75, 0.21),
    City("Chungju", 127.93, 36.99, 0.21),
    City("Seogwipo", 126.56, 33.25, 0.18),
    City("Andong", 128.73, 36.57, 0.16),
    City("Gimcheon", 128.11, 36.14, 0.14),
    City("Jecheon", 128.19, 37.13, 0.13),
    City("Naju", 126.71, 35.02, 0.12),
    City("Tongyeong", 128.43, 34.85, 0.12),
    City("Sangju", 128.16, 36.41, 0.10),
    City("Miryang", 128.75, 35.50, 0.10),
    City("Yeongju", 128.62, 36.81, 0.10),
    City("Donghae", 129.11, 37.52, 0.09),
    City("Sokcho", 128.59, 38.20, 0.08),
    City("Gimje", 126.88, 35.80, 0.08),
    City("Hongcheon", 127.89, 37.69, 0.07),
    City("Haenam", 126.60, 34.57, 0.07),
    City("Samcheok", 129.17, 37.45, 0.06),
    City("Taebaek", 128.99, 37.16, 0.04),
)

# Main rivers as (name, width at the mouth in m, course from source to mouth).
RIVERS: tuple[tuple[str, float, tuple[tuple[float, float], ...]], ...] = (
    ("Hangang", 900.0, (
        (128.90, 37.22), (128.46, 37.18), (128.37, 36.98), (127.93, 36.98), (127.64, 37.30),
        (127.31, 37.54), (127.10, 37.55), (126.98, 37.52), (126.80, 37.59), (126.62, 37.72),
        (126.50, 37.78))),
    ("Bukhangang", 350.0, (
        (127.70, 38.20), (127.73, 37.88), (127.50, 37.80), (127.31, 37.54))),
    ("Imjingang", 300.0, (
        (127.20, 38.10), (126.95, 38.00), (126.75, 37.85), (126.66, 37.76))),
    ("Nakdonggang", 600.0, (
        (128.98, 37.08), (128.90, 36.85), (128.73, 36.56), (128.25, 36.40), (128.38, 36.12),
        (128.45, 35.85), (128.45, 35.55), (128.50, 35.45), (128.85, 35.38), (128.95, 35.22),
        (128.95, 35.05))),
    ("Namgang", 200.0, (
        (127.80, 35.55), (128.08, 35.18), (128.35, 35.30), (128.50, 35.45))),
    ("Geumgang", 450.0, (
        (127.50, 35.65), (127.55, 36.00), (127.50, 36.45), (127.28, 36.48), (127.12, 36.46),
        (126.90, 36.28), (127.00, 36.15), (126.70, 36.00), (126.55, 36.02))),
    ("Mangyeonggang", 250.0, (
        (127.20, 35.90), (127.00, 35.88), (126.85, 35.88), (126.65, 35.86), (126.55, 35.85))),
    ("Dongjingang", 200.0, (
        (127.05, 35.60), (126.90, 35.72), (126.75, 35.76), (126.58, 35.77))),
    ("Yeongsangang", 300.0, (
        (127.00, 35.33), (126.85, 35.13), (126.70, 35.02), (126.55, 34.85), (126.40, 34.78))),
    ("Seomjingang", 300.0, (
        (127.20, 35.60), (127.30, 35.35), (127.47, 35.20), (127.75, 35.05), (127.76, 34.93))),
    ("Hyeongsangang", 150.0, (
        (129.15, 35.70), (129.22, 35.86), (129.30, 36.00), (129.38, 36.03))),
    ("Taehwagang", 150.0, (
        (129.05, 35.62), (129.20, 35.55), (129.36, 35.52))),
    ("Anseongcheon", 150.0, (
        (127.40, 37.05), (127.15, 37.00), (126.95, 36.95), (126.85, 36.92))),
    ("Sapgyocheon", 150.0, (
        (126.95, 36.55), (126.90, 36.75), (126.85, 36.88))),
)

# Alluvial plains where the lowland hills give way to flat rice country: (name, lon, lat, radius km).
PLAINS: tuple[tuple[str, float, float, float], ...] = (
    ("Honam (Gimje-Mangyeong)", 126.86, 35.84, 16.0),
    ("Naju (Yeongsan)", 126.72, 35.02, 10.0),
    ("Gimpo", 126.70, 37.62, 8.0),
    ("Pyeongtaek-Anseong", 127.02, 36.97, 10.0),
    ("Yedang (Sapgyo)", 126.84, 36.72, 8.0),
    ("Gimhae (Nakdong delta)", 128.88, 35.17, 7.0),
    ("Haenam-Yeongam", 126.58, 34.66, 8.0),
)

# KoFlux-like tower places (SCIENCE.md), used for markers and the flux network's Korean sites.
TOWERS: tuple[Tower, ...] = (
    Tower("KR-GDK", "Gwangneung deciduous forest", 127.153, 37.749, "DBF"),
    Tower("KR-GCK", "Gwangneung coniferous forest", 127.162, 37.748, "ENF"),
    Tower("KR-HFK", "Haenam farmland", 126.570, 34.554, "CRO"),
)

# The Military Demarcation Line, approximately, west to east. Land north of it is not
# South Korea; the north-western islands (Baengnyeong, Yeonpyeong) fall outside as well.
_MDL: tuple[tuple[float, float], ...] = (
    (124.00, 37.82), (126.55, 37.82), (126.68, 37.80), (126.69, 37.95), (126.85, 38.00),
    (127.05, 38.10), (127.20, 38.25), (127.45, 38.30), (127.75, 38.32), (128.05, 38.30),
    (128.25, 38.45), (128.36, 38.61), (132.00, 38.63),
)


def is_south_korea(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where (lon, lat) is on the South Korean side of the border (land or sea).

    South of the Military Demarcation Line, and not Tsushima or Kyushu (Japan), which fall
    inside the project frame's south-eastern corner.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    mdl_lon, mdl_lat = np.array(_MDL).T
    south_of_mdl = lat < np.interp(lon, mdl_lon, mdl_lat)
    japan = (lat < 34.80) & (lon > 129.15)
    return south_of_mdl & ~japan
