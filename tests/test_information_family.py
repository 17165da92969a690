"""The benchmark's held-out family: sizes, determinism, and where the Gaussian copula stops being exact."""

import numpy as np
import pytest

from fusion.information.family import FULL, SMALL, family, random_loadings
from fusion.information.systems import GaussianSystem, StudentTSystem, TransformedSystem


def test_family_sizes_kinds_and_determinism():
    small, full = family(), family(full=True)
    assert len(small) == len(SMALL) and len(full) == len(FULL)
    assert all(s.n_vars <= 6 and max(s.dims) <= 3 for _, s in small)
    assert all(s.n_vars <= 10 and max(s.dims) <= 5 for _, s in full)
    kinds = {name.split()[0] for name, _ in full}
    assert kinds == {"gaussian", "half_cube", "student_t3", "student_t5", "spiral", "shear"}
    for (name, system), (_, again) in zip(small, family()):
        assert system.ground_truth()["tc"] == again.ground_truth()["tc"] > 0
    assert family(seed=1)[0][1].ground_truth()["tc"] != small[0][1].ground_truth()["tc"]
    by_kind = {name.split()[0]: s for name, s in full}
    assert isinstance(by_kind["gaussian"], GaussianSystem) and isinstance(by_kind["student_t5"], StudentTSystem)
    assert by_kind["student_t5"].dof == 5.0 and isinstance(by_kind["shear"], TransformedSystem)


def test_loadings_are_unequal_and_valid():
    loadings = random_loadings(np.random.default_rng(7), 8, 2)
    shares = (loadings**2).sum(axis=1)
    assert np.all((shares >= 0.15) & (shares <= 0.85)) and np.ptp(shares) > 0.1


def test_copula_is_exact_on_the_gaussian_member_and_off_on_the_spiral():
    pytest.importorskip("thoi")
    from fusion.information.baselines import gaussian_copula_measures

    by_kind = {name.split()[0]: s for name, s in family()}
    for kind, exact in (("gaussian", True), ("spiral", False)):
        system = by_kind[kind]
        x = system.sample(20000, seed=8).reshape(20000, -1)
        error = abs(gaussian_copula_measures(x, system.dims)["tc"] / system.ground_truth()["tc"] - 1)
        assert (error < 0.05) if exact else (error > 0.3)
