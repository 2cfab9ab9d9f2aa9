"""Metrics against hand-computed cases (unique_core/metrics.py)."""

from __future__ import annotations

import numpy as np
import pytest

from unique_core import metrics as M


def test_crps_ensemble__fair_estimator_by_hand():
    # members {1, 3}, y = 0: E|X - y| = 2; fair E|X - X'| = (2 + 2) / (2 * 1) = 2 -> 2 - 1 = 1
    assert M.crps_ensemble(np.array([[1.0], [3.0]]), np.array([0.0]))[0] == pytest.approx(1.0)
    # members {0, 2}, y = 1: 1 - 0.5 * 2 = 0 (the biased "energy" form would give 0.5)
    assert M.crps_ensemble(np.array([[0.0], [2.0]]), np.array([1.0]))[0] == pytest.approx(0.0)
    # one point per column, members on axis 0
    out = M.crps_ensemble(np.array([[1.0, 0.0], [3.0, 2.0]]), np.array([0.0, 1.0]))
    assert out == pytest.approx([1.0, 0.0])


def test_ssim__identical_is_one_and_sea_pixels_do_not_count():
    rng = np.random.default_rng(0)
    truth = rng.random((40, 40)) * 10
    land = np.ones((40, 40), bool)
    land[:, 30:] = False
    assert M.ssim(truth, truth, land, data_range=20.0) == pytest.approx(1.0)
    other = truth.copy()
    other[:, 30:] = 99.0  # at sea: set to 0 in both maps before scoring
    assert M.ssim(other, truth, land, data_range=20.0) == pytest.approx(1.0)
    noisy = truth + rng.normal(0, 1, truth.shape)
    low, high = M.ssim(noisy, truth, land, data_range=10.0), M.ssim(noisy, truth, land, data_range=40.0)
    assert low < high < 1.0  # the data range is explicit and matters


def test_spread_skill__finite_ensemble_factor_by_hand():
    # members (0, 2) at two points, y = (0, 2): mean 1, RMSE 1; unbiased variance 2 -> sqrt(2) sqrt(3/2)
    members = np.array([[0.0, 0.0], [2.0, 2.0]])
    assert M.spread_skill(members, np.array([0.0, 2.0])) == pytest.approx(np.sqrt(3.0))
    v, se, n = M.spread_terms(members, np.array([0.0, 2.0]))
    assert (v, se, n) == (4.0, 2.0, 2)
    assert M.spread_skill_pooled(v, se, n, 2) == pytest.approx(np.sqrt(3.0))


def test_spread_skill__reliable_small_ensemble_scores_one():
    rng = np.random.default_rng(1)
    mu = rng.normal(0, 3, 200_000)
    y = mu + rng.normal(0, 1, mu.size)
    members = mu[None] + rng.normal(0, 1, (3, mu.size))
    assert M.spread_skill(members, y) == pytest.approx(1.0, abs=0.01)
    # without sqrt((M+1)/M) a reliable 3-member ensemble would look under-dispersed (0.87)
    naive = np.sqrt(members.var(axis=0, ddof=1).mean()) / np.sqrt(np.mean((members.mean(0) - y) ** 2))
    assert naive == pytest.approx(np.sqrt(3 / 4), abs=0.01)


def test_rank_histogram__ranks_by_hand_and_u_shape_when_under_dispersed():
    members = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]])
    assert M.rank_histogram(members, np.array([-1.0, 1.0, 3.0])).tolist() == [1, 1, 1]
    rng = np.random.default_rng(2)
    y = rng.normal(0, 1, 20_000)
    narrow = rng.normal(0, 0.2, (4, y.size))
    h = M.rank_histogram(narrow, y, rng)
    assert h[0] > 3 * h[2] and h[-1] > 3 * h[2]


def test_pooled__sums_of_parts_give_the_whole():
    rng = np.random.default_rng(3)
    y = rng.random(1000) * 10
    p = y + rng.normal(0.5, 1, y.size)
    parts = [M.pooled(y[:300], p[:300]), M.pooled(y[300:], p[300:])]
    s = {k: parts[0][k] + parts[1][k] for k in parts[0]}
    got = M.from_pooled(s)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((p - y) ** 2)))
    assert got["mae"] == pytest.approx(np.mean(np.abs(p - y)))
    assert got["bias"] == pytest.approx(np.mean(p - y))
    assert got["r"] == pytest.approx(np.corrcoef(y, p)[0, 1])


def test_block_bootstrap__interval_brackets_the_estimate_and_collapses_for_constants():
    rng = np.random.default_rng(4)
    values = rng.normal(5, 1, 400)
    blocks = np.repeat(np.arange(40), 10)
    lo, hi = M.block_bootstrap(values, blocks, np.mean)
    assert lo < values.mean() < hi
    assert hi - lo < 0.5
    assert M.block_bootstrap(np.full(40, 2.0), np.arange(40), np.mean) == (2.0, 2.0)


def test_crps_normal__closed_form_by_hand():
    # CRPS of N(0, 1) at its mean: 2 phi(0) - 1 / sqrt(pi) = 0.23370
    assert M.crps_normal(np.array([0.0]), np.array([1.0]), np.array([0.0]))[0] == pytest.approx(0.233695, abs=1e-5)
    # it scales with the std and, far out, approaches the absolute error
    assert M.crps_normal(np.array([0.0]), np.array([2.0]), np.array([0.0]))[0] == pytest.approx(2 * 0.233695, abs=1e-5)
    assert M.crps_normal(np.array([0.0]), np.array([0.01]), np.array([5.0]))[0] == pytest.approx(5.0, abs=0.01)


def test_pit_histogram__bins_by_hand_and_u_shape_when_too_narrow():
    # Phi(0) = 0.5 -> bin 2 of 4; Phi(-3) ~ 0.001 -> bin 0; Phi(3) ~ 0.999 -> bin 3
    h = M.pit_histogram(np.zeros(3), np.ones(3), np.array([0.0, -3.0, 3.0]), 4)
    assert h.tolist() == [1, 0, 1, 1]
    rng = np.random.default_rng(5)
    y = rng.normal(0, 1, 50_000)
    flat = M.pit_histogram(np.zeros(y.size), np.ones(y.size), y, 5)
    assert flat.min() > 0.95 * y.size / 5 and flat.max() < 1.05 * y.size / 5
    narrow = M.pit_histogram(np.zeros(y.size), np.full(y.size, 0.3), y, 5)
    assert narrow[0] > 3 * narrow[2] and narrow[-1] > 3 * narrow[2]


def test_crps_normal_and_pit__a_zero_std_is_a_point_forecast():
    assert M.crps_normal(np.array([1.0, 1.0]), np.zeros(2), np.array([3.0, 1.0])).tolist() == [2.0, 0.0]
    assert M.pit_histogram(np.ones(3), np.zeros(3), np.array([0.0, 1.0, 2.0]), 3).tolist() == [1, 1, 1]
