import numpy as np

from unique_core import qa


def test_landsat_qa__clear_land_is_the_collection2_value():
    assert int(qa.encode_landsat_qa()) == 21824  # the value of a clear land pixel in real C2 scenes
    assert int(qa.encode_landsat_qa(water=True)) == 21952


def test_landsat_qa__round_trip_of_each_flag():
    cloud = np.array([0, 1, 0, 0, 0, 0], bool)
    dilated = np.array([0, 0, 1, 0, 0, 0], bool)
    shadow = np.array([0, 0, 0, 1, 0, 0], bool)
    cirrus = np.array([0, 0, 0, 0, 1, 0], bool)
    fill = np.array([0, 0, 0, 0, 0, 1], bool)
    code = qa.encode_landsat_qa(fill=fill, dilated=dilated, cirrus=cirrus, cloud=cloud, shadow=shadow)
    assert qa.landsat_clear(code).tolist() == [True, False, False, False, False, False]
    assert qa.landsat_flag(code, qa.L_CLOUD).tolist() == cloud.tolist()
    assert qa.landsat_flag(code, qa.L_SHADOW).tolist() == shadow.tolist()
    assert qa.landsat_flag(code, qa.L_DILATED).tolist() == dilated.tolist()
    assert qa.landsat_flag(code, qa.L_FILL).tolist() == fill.tolist()
    assert qa.landsat_confidence(code, "cloud")[1] == qa.HIGH
    assert qa.landsat_confidence(code, "cirrus")[4] == qa.HIGH


def test_modis_state__round_trip():
    cloudy = np.array([0, 1, 0, 0, 0], bool)
    mixed = np.array([0, 0, 1, 0, 0], bool)
    shadow = np.array([0, 0, 0, 1, 0], bool)
    adjacent = np.array([0, 0, 0, 0, 1], bool)
    s = qa.encode_modis_state(cloudy=cloudy, mixed=mixed, shadow=shadow, adjacent=adjacent)
    assert qa.modis_clear(s).tolist() == [True, False, False, False, False]
    assert (s[0] & 0b11) == 0 and (s[1] & 0b11) == 1 and (s[2] & 0b11) == 2
    assert ((s >> 3) & 0b111).tolist() == [1, 1, 1, 1, 1]  # land
