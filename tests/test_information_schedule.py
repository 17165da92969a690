"""VP-SDE schedule and log-SNR importance sampling (fusion/information/schedule.py)."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from fusion.information.schedule import VPSchedule

SCHEDULE = VPSchedule()


def _lam(t: float) -> float:
    return float(SCHEDULE.log_snr(torch.tensor(t, dtype=torch.float64)))


def cdf(t):
    """Closed-form CDF of the importance density: linear on the slab, then linear in λ."""
    t = np.asarray(t, dtype=np.float64)
    slab = SCHEDULE.t_eps * SCHEDULE.flat_density
    lam = SCHEDULE.log_snr(torch.as_tensor(np.maximum(t, SCHEDULE.t_eps))).numpy()
    return np.where(t <= SCHEDULE.t_eps, t * SCHEDULE.flat_density, slab + _lam(SCHEDULE.t_eps) - lam) / SCHEDULE.normaliser


def test_closed_form_cdf_matches_quadrature():
    density = lambda s: float(SCHEDULE.density(torch.tensor(s, dtype=torch.float64)))
    for s in (5e-4, 0.01, 0.3, 1.0):
        numeric = integrate.quad(density, 0, min(s, SCHEDULE.t_eps))[0] + (
            integrate.quad(density, SCHEDULE.t_eps, s, limit=200)[0] if s > SCHEDULE.t_eps else 0.0)
        assert float(cdf(s)) == pytest.approx(numeric, abs=1e-7)


def test_forward_process_is_variance_preserving():
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    assert torch.allclose(SCHEDULE.alpha(t) ** 2 + SCHEDULE.sigma(t) ** 2, torch.ones_like(t))
    # α_t = exp(−½∫β) with ∫β checked against numerical quadrature
    numeric = integrate.quad(lambda s: float(SCHEDULE.beta(torch.tensor(s, dtype=torch.float64))), 0, 0.7)[0]
    assert float(SCHEDULE.integral_beta(torch.tensor(0.7, dtype=torch.float64))) == pytest.approx(numeric, rel=1e-9)


def test_log_snr_inverse_and_derivative():
    t = torch.linspace(0.01, 1, 50, dtype=torch.float64, requires_grad=True)
    lam = SCHEDULE.log_snr(t)
    assert torch.allclose(SCHEDULE.time_of_log_snr(lam.detach()), t.detach(), atol=1e-10)
    # the importance density rests on β/σ² = −dλ/dt
    (grad,) = torch.autograd.grad(lam.sum(), t)
    assert torch.allclose(-grad, SCHEDULE.beta(t.detach()) / SCHEDULE.sigma(t.detach()) ** 2, rtol=1e-8)


def test_normaliser_is_the_mass_of_the_density():
    unnormalised = lambda s: float(SCHEDULE.density(torch.tensor(s, dtype=torch.float64))) * SCHEDULE.normaliser
    mass = integrate.quad(unnormalised, 0, SCHEDULE.t_eps)[0] + integrate.quad(unnormalised, SCHEDULE.t_eps, 1, limit=200)[0]
    assert SCHEDULE.normaliser == pytest.approx(mass, rel=1e-6)
    # derived from the schedule: other constants give another normaliser
    assert VPSchedule(beta_max=10.0).normaliser != pytest.approx(SCHEDULE.normaliser, rel=1e-3)
    assert 0.04 < SCHEDULE.flat_mass < 0.07  # "about 5 %" (SPEC §6)


@pytest.mark.parametrize("stratified", [False, True])
def test_sampled_times_follow_the_density(stratified):
    t = SCHEDULE.sample_t((20000, 1), torch.Generator().manual_seed(0), stratified=stratified).double().squeeze(1)
    assert float(t.min()) >= 0 and float(t.max()) <= 1
    assert stats.kstest(t.numpy(), cdf).pvalue > 1e-3
    # above t_ε the draws are uniform in log-SNR
    lam = SCHEDULE.log_snr(t[t > SCHEDULE.t_eps])
    lo, hi = _lam(1.0), _lam(SCHEDULE.t_eps)
    assert stats.kstest(lam.numpy(), stats.uniform(lo, hi - lo).cdf).pvalue > 1e-3


def test_stratified_draws_fill_every_stratum_once():
    n = 1000
    t = SCHEDULE.sample_t((n, 1), torch.Generator().manual_seed(1), stratified=True).double().squeeze(1)
    strata = np.floor(cdf(t.numpy()) * n + 1e-9).astype(int)
    assert sorted(strata.tolist()) == list(range(n))
    unstratified = SCHEDULE.sample_t((n, 1), torch.Generator().manual_seed(1)).double().squeeze(1)
    assert len(set(np.floor(cdf(unstratified.numpy()) * n).astype(int).tolist())) < n  # the property is not automatic


def test_importance_weight_integrates_a_known_function():
    """(Z/2)·E_q[σ²(t)] ≈ ∫₀¹ β/(2σ²)·σ² dt = B(1)/2 (the slab below t_ε is approximated)."""
    t = SCHEDULE.sample_t((200000, 1), torch.Generator().manual_seed(2), stratified=True).double()
    estimate = SCHEDULE.integral_weight * float((SCHEDULE.sigma(t) ** 2).mean())
    exact = float(SCHEDULE.integral_beta(torch.tensor(1.0, dtype=torch.float64))) / 2
    assert estimate == pytest.approx(exact, rel=0.005)
