"""Closed-form clipped lengths (survey hazards, utility overlay) against shapely, on planted cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Polygon, box

from yulin_gis.profile import load_profile
from yulin_gis.survey import compound_pipe_hazards
from yulin_gis.survey._clip import clipped_lengths
from yulin_gis.utilities._within import _length_within_convex

X0, Y0 = 380000.0, 2480000.0
CRS = "EPSG:4546"


def _planted() -> tuple[np.ndarray, np.ndarray]:
    """Polygons of every kind the fast path takes or refuses, and segments crossing them."""
    b = box(X0, Y0, X0 + 80, Y0 + 60)
    polys = np.array([
        b,                                                       # box, counter-clockwise
        shapely.buffer(b, 5.0, quad_segs=4),                     # 20-vertex convex zone
        shapely.orient_polygons(b, exterior_cw=True),            # clockwise
        Polygon([(X0, Y0), (X0 + 50, Y0 - 10), (X0 + 90, Y0 + 20), (X0 + 60, Y0 + 70),
                 (X0 + 10, Y0 + 55)]),                            # pentagon (padded to 8)
        Polygon([(X0, Y0), (X0 + 80, Y0), (X0 + 80, Y0 + 60), (X0 + 40, Y0 + 20),
                 (X0, Y0 + 60)]),                                 # concave: shapely path
        Polygon(b.exterior.coords, [box(X0 + 30, Y0 + 20, X0 + 50, Y0 + 40).exterior.coords]),
    ], dtype=object)
    rng = np.random.default_rng(4)
    a = rng.uniform([X0 - 40, Y0 - 40], [X0 + 120, Y0 + 100], (300, 2))
    ang, ln = rng.uniform(0, np.pi, 300), rng.uniform(5, 150, 300)
    lines = list(shapely.linestrings(np.stack([a, a + np.c_[ln * np.cos(ang), ln * np.sin(ang)]], 1)))
    lines += [LineString([(X0 + 10, Y0 + 10), (X0 + 20, Y0 + 30)]),         # inside
              LineString([(X0 - 20, Y0 + 30), (X0 + 120, Y0 + 30)]),        # across
              LineString([(X0 - 20, Y0), (X0 + 120, Y0)]),                  # along an edge
              LineString([(X0 + 80, Y0 + 70), (X0 + 90, Y0 + 60)]),          # touches a corner
              LineString([(X0 - 20, Y0 + 30), (X0 + 40, Y0 + 30), (X0 + 40, Y0 + 90)]),  # 3 points
              LineString([(X0 + 200, Y0), (X0 + 300, Y0)])]                 # far away
    return polys, np.array(lines, dtype=object)


def test_clipped_lengths_equal_shapely_intersection() -> None:
    polys, lines = _planted()
    pi, li = (x.ravel() for x in np.meshgrid(np.arange(len(polys)), np.arange(len(lines))))
    ours = clipped_lengths(polys, lines, pi, li)
    ref = shapely.length(shapely.intersection(lines[li], polys[pi]))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    # the cut points are rounded as shapely rounds them: bit-identical but in rare ties
    assert (ours == ref).mean() > 0.99
    assert ours[(pi == 0) & (li == len(lines) - 6)][0] == pytest.approx(np.hypot(10, 20))
    assert ours[(pi == 0) & (li == len(lines) - 5)][0] == pytest.approx(80.0)


def test_length_within_convex_matches_a_fine_buffer() -> None:
    polys, lines = _planted()
    pi, li = (x.ravel() for x in np.meshgrid(np.arange(len(polys)), np.arange(len(lines))))
    got = _length_within_convex(polys, lines, pi, li, 30.0)
    convex = np.isin(pi, [0, 1, 2, 3]) & (shapely.get_num_coordinates(lines[li]) == 2)
    assert np.isnan(got[~convex]).all() and not np.isnan(got[convex]).any()
    zone = shapely.buffer(polys[pi[convex]], 30.0, quad_segs=1024)
    ref = shapely.length(shapely.intersection(lines[li[convex]], zone))
    # the buffer's chords shorten lines grazing a corner by up to a few mm
    np.testing.assert_allclose(got[convex], ref, atol=5e-3)


def test_hazard_evidence_orders_ties_by_id_and_counts_ids_once() -> None:
    b = box(X0, Y0, X0 + 100, Y0 + 100)
    comp = gpd.GeoDataFrame({"compound_id": ["A", "B"]},
                            geometry=[b, box(X0 + 500, Y0, X0 + 600, Y0 + 100)], crs=CRS)
    west = LineString([(X0 - 3, Y0 - 20), (X0 - 3, Y0 + 120)])   # 3 m west, 140 m long
    south = LineString([(X0 + 10, Y0 - 3), (X0 + 90, Y0 - 3)])   # 3 m south: tie
    east = LineString([(X0 + 104, Y0), (X0 + 104, Y0 + 50)])     # 4 m east
    north = LineString([(X0 + 20, Y0 + 101), (X0 + 30, Y0 + 101)])  # 1 m north
    pipes = gpd.GeoDataFrame({
        "segment_id": ["G-9", "G-10", "G-2", "G-9", "G-unknown"],
        "utility": ["gas"] * 5,
        "material": ["grey_cast_iron"] * 4 + [None],
        "install_year": [1985, 1985, 1985, 1985, None],
    }, geometry=[west, south, east, north, north], crs=CRS)
    prof = load_profile()
    out = compound_pipe_hazards(comp, pipes, prof, distance_m=5.0)
    ev = out.loc["A", "hazard_evidence_gas"]
    k = prof.survey.evidence_max_segments
    names = [part.split(" ")[0] for part in ev.split("; ") if not part.startswith("+")]
    # 1 m (north), the 3 m tie by id as text ("G-10" < "G-9"), then 4 m
    assert names == ["G-9", "G-10", "G-9", "G-2"][:k]
    assert out.loc["A", "hazard_pipes"] == 3  # G-9 twice counts once
    assert out.loc["A", "pipes_undetermined"] == 1
    # lengths inside A's 5 m buffer (4 segments a quarter circle), as shapely clips them
    zone = shapely.buffer(b, 5.0, quad_segs=4)
    expected = sum(shapely.length(shapely.intersection(g, zone)) for g in (west, south, east, north))
    assert out.loc["A", "hazard_len_gas_m"] == pytest.approx(expected, abs=1e-9)
    assert not out.loc["B", "hazard_gas"] and out.loc["B", "hazard_pipes"] == 0
