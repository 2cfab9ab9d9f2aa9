"""Quality bits of Landsat Collection 2 QA_PIXEL and MODIS MOD09GA state_1km.

The simulated sensors write these layers and every reader decodes them with the same
functions, so real and simulated scenes are masked by one rule.

Landsat C2 L2 QA_PIXEL (uint16): bit 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud,
4 cloud shadow, 5 snow, 6 clear, 7 water, 8-9 cloud confidence, 10-11 cloud-shadow
confidence, 12-13 snow/ice confidence, 14-15 cirrus confidence (00 none, 01 low,
10 medium, 11 high). A pixel is clear when bits 0-4 are all zero.

Landsat C2 QA_RADSAT (uint16): bit n-1 set when band n is saturated (bit 1 band 2 ... bit 6
band 7), bit 11 terrain occlusion.

MOD09GA state_1km (uint16): bits 0-1 cloud state (00 clear, 01 cloudy, 10 mixed,
11 not set), bit 2 cloud shadow, bits 3-5 land/water (000 shallow ocean, 001 land,
101 inland water), bit 10 internal cloud flag, bit 13 pixel adjacent to cloud.
"""

from __future__ import annotations

import numpy as np

# Landsat QA_PIXEL
L_FILL, L_DILATED, L_CIRRUS, L_CLOUD, L_SHADOW, L_SNOW, L_CLEAR, L_WATER = (1 << b for b in range(8))
_L_CONF_SHIFT = {"cloud": 8, "shadow": 10, "snow": 12, "cirrus": 14}
LOW, MEDIUM, HIGH = 1, 2, 3

# MODIS state_1km
M_CLOUD_CLEAR, M_CLOUDY, M_CLOUD_MIXED = 0, 1, 2
M_SHADOW = 1 << 2
M_LAND = 1 << 3  # land/water flag 001
M_INLAND_WATER = 5 << 3  # 101
M_INTERNAL_CLOUD = 1 << 10
M_ADJACENT = 1 << 13


def encode_landsat_qa(*, fill=False, dilated=False, cirrus=False, cloud=False, shadow=False,
                      water=False) -> np.ndarray:
    """QA_PIXEL values from boolean masks (broadcast together), as Collection 2 sets them."""
    fill, dilated, cirrus, cloud, shadow, water = np.broadcast_arrays(
        *(np.asarray(m, dtype=bool) for m in (fill, dilated, cirrus, cloud, shadow, water)))
    qa = np.zeros(fill.shape, np.uint16)
    qa |= np.where(dilated, L_DILATED, 0).astype(np.uint16)
    qa |= np.where(cirrus, L_CIRRUS, 0).astype(np.uint16)
    qa |= np.where(cloud, L_CLOUD, 0).astype(np.uint16)
    qa |= np.where(shadow, L_SHADOW, 0).astype(np.uint16)
    qa |= np.where(~(cloud | dilated), L_CLEAR, 0).astype(np.uint16)
    qa |= np.where(water & ~cloud, L_WATER, 0).astype(np.uint16)
    qa |= (np.where(cloud, HIGH, np.where(dilated, MEDIUM, LOW)).astype(np.uint16) << 8)
    qa |= (np.where(shadow, HIGH, LOW).astype(np.uint16) << 10)
    qa |= np.uint16(LOW << 12)
    qa |= (np.where(cirrus, HIGH, LOW).astype(np.uint16) << 14)
    return np.where(fill, np.uint16(L_FILL), qa).astype(np.uint16)


def landsat_clear(qa: np.ndarray) -> np.ndarray:
    """True where a Landsat C2 pixel is clear: not fill, cloud, dilated cloud, cirrus or shadow."""
    return (np.asarray(qa).astype(np.uint16) & 0b11111) == 0


def landsat_flag(qa: np.ndarray, bit: int) -> np.ndarray:
    """True where single-bit flag `bit` (e.g. L_CLOUD) is set."""
    return (np.asarray(qa).astype(np.uint16) & bit) != 0


def landsat_confidence(qa: np.ndarray, kind: str) -> np.ndarray:
    """Two-bit confidence (0 none .. 3 high) of 'cloud', 'shadow', 'snow' or 'cirrus'."""
    return (np.asarray(qa).astype(np.uint16) >> _L_CONF_SHIFT[kind]) & 0b11


def landsat_saturated(radsat: np.ndarray, bands: tuple[int, ...] = (2, 3, 4, 5, 6, 7)) -> np.ndarray:
    """True where QA_RADSAT flags any of `bands` (OLI band numbers) as saturated, or terrain occlusion."""
    mask = 0
    for b in bands:
        mask |= 1 << (b - 1)
    mask |= 1 << 11
    return (np.asarray(radsat).astype(np.uint16) & np.uint16(mask)) != 0


def encode_modis_state(*, cloudy, mixed, shadow, adjacent, water=False, sea=False) -> np.ndarray:
    """state_1km values from boolean masks."""
    cloudy, mixed, shadow, adjacent, water, sea = np.broadcast_arrays(
        *(np.asarray(m, dtype=bool) for m in (cloudy, mixed, shadow, adjacent, water, sea)))
    state = np.where(cloudy, M_CLOUDY, np.where(mixed, M_CLOUD_MIXED, M_CLOUD_CLEAR)).astype(np.uint16)
    state |= np.where(shadow, M_SHADOW, 0).astype(np.uint16)
    state |= np.where(sea, 0, np.where(water, M_INLAND_WATER, M_LAND)).astype(np.uint16)
    state |= np.where(cloudy, M_INTERNAL_CLOUD, 0).astype(np.uint16)
    state |= np.where(adjacent, M_ADJACENT, 0).astype(np.uint16)
    return state


def modis_clear(state: np.ndarray) -> np.ndarray:
    """True where MOD09GA state_1km says clear: cloud state 00, no shadow, not adjacent, no internal cloud."""
    s = np.asarray(state).astype(np.uint16)
    return ((s & 0b11) == M_CLOUD_CLEAR) & ((s & M_SHADOW) == 0) & ((s & M_ADJACENT) == 0) \
        & ((s & M_INTERNAL_CLOUD) == 0)
