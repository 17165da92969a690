"""The per-sensor surprise −log p(x_i): the difference of denoising losses (``evaluation.self_information``)
against the score-difference form of the thesis' entropy estimator (Eq. 4.22), on the closed-form oracle.

Eq. 4.22 with the standard-normal reference (σ = 1, χ_t = 1 for the VP SDE) reads, per sample,
−log N(x) − ∫ β/(2σ²)·‖ε̂ − σ x_t‖² dt. Both forms average to H(X_i) with the exact denoiser; only
the loss difference is −log p(x) sample by sample (its ε-terms average out per sample, the score
form's cross term only over the distribution), and that per-sample value is what the monitor uses.
"""

import math

import numpy as np
import pytest
import torch

from tests.fixtures.information import single_torch_thread  # noqa: F401  (autouse)
from fusion.information.config import EstimatorConfig
from fusion.information.configurations import marginal
from fusion.information.estimator import InformationEstimator
from fusion.information.evaluation import self_information
from fusion.information.oracle import GaussianOracle
from fusion.information.schedule import VPSchedule
from fusion.information.training import noised_inputs

SCHEDULE = VPSchedule()
INNER = np.array([[1.0, 0.8, 0.5], [0.8, 1.0, 0.6], [0.5, 0.6, 1.0]])  # correlated coordinates: not the reference N(0, I)
COVARIANCE = np.block([[INNER, 0.5 * INNER], [0.5 * INNER, INNER]])  # two 3-d variables
DIMS = (3, 3)


def score_difference(x0, eps_hat, noise, t):
    """Eq. 4.22 per sample: −log N(x0) − (Z/2)·‖ε̂ − σ x_t‖²."""
    sigma = SCHEDULE.sigma(t)
    x_t = SCHEDULE.alpha(t) * x0 + sigma * noise
    reference = 0.5 * (x0**2).sum(dim=1) + 0.5 * x0.shape[1] * math.log(2 * math.pi)
    return reference - SCHEDULE.integral_weight * ((eps_hat - sigma * x_t) ** 2).sum(dim=1)


def both_forms(denoiser, x0: torch.Tensor, repeats: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample surprise of variable 0, [n] each, by the loss difference and by Eq. 4.22 (same draws)."""
    generator = torch.Generator().manual_seed(0)
    roles = torch.tensor(marginal(0, 2)).expand(x0.shape[0], -1)
    losses, scores = [], []
    for _ in range(repeats):
        t = SCHEDULE.sample_t((x0.shape[0], 1), generator, stratified=True)
        noise, filler = torch.randn(x0.shape, generator=generator), torch.randn(x0.shape, generator=generator)
        x_in, tau, _ = noised_inputs(x0, roles, t, noise, filler, DIMS, SCHEDULE)
        with torch.no_grad():
            eps_hat = denoiser(x_in, tau, x0, noise, t)[:, :3]
        losses.append(self_information(x0[:, :3], eps_hat, noise[:, :3], t, SCHEDULE).double().numpy())
        scores.append(score_difference(x0[:, :3], eps_hat, noise[:, :3], t).double().numpy())
    return np.mean(losses, axis=0), np.mean(scores, axis=0)


def exact_surprise(x: np.ndarray, covariance: np.ndarray, mean: np.ndarray) -> np.ndarray:
    delta = x - mean
    return 0.5 * np.einsum("ij,ij->i", delta, np.linalg.solve(covariance, delta.T).T) + 0.5 * np.log(np.linalg.det(2 * np.pi * covariance))


def entropy(covariance: np.ndarray) -> float:
    return 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * covariance))


@pytest.fixture(scope="module")
def samples() -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(1).multivariate_normal(np.zeros(6), COVARIANCE, 1500)).float()


def oracle_denoiser(shrink: float = 0.0):
    """The exact ε̂, or one pulled a share ``shrink`` towards the reference's σ x_t (an under-fitted denoiser)."""
    oracle = GaussianOracle(COVARIANCE, DIMS, SCHEDULE)

    def denoise(x_in, tau, x0, noise, t):
        sigma = SCHEDULE.sigma(t)
        return (1 - shrink) * oracle(x_in, tau) + shrink * sigma * (SCHEDULE.alpha(t) * x0 + sigma * noise)

    return denoise


@pytest.mark.parametrize("shrink", [0.0, 0.2])
def test_loss_difference_is_the_per_sample_surprise_and_no_worse_on_average(samples, shrink):
    loss, score = both_forms(oracle_denoiser(shrink), samples, repeats=48)
    exact = exact_surprise(samples[:, :3].double().numpy(), INNER, np.zeros(3))
    truth = entropy(INNER)
    rmse = {name: float(np.sqrt(np.mean((v - exact) ** 2))) for name, v in (("loss", loss), ("score", score))}
    assert rmse["loss"] < 0.7 * rmse["score"], rmse  # Eq. 4.22's per-sample error does not average away
    if shrink:  # an under-fitted denoiser: the loss form's bias is second order in the error, Eq. 4.22's first order
        assert abs(loss.mean() - truth) < 0.5 * abs(score.mean() - truth)
    else:  # both are unbiased for H(X_i) with the exact denoiser (up to Monte-Carlo error)
        assert abs(loss.mean() - truth) < 0.08 and abs(score.mean() - truth) < 0.08



def cross_entropy(covariance: np.ndarray, model: np.ndarray) -> float:
    """E_p[−log q] for p = N(0, covariance), q = N(0, model)."""
    return 0.5 * np.trace(np.linalg.solve(model, covariance)) + 0.5 * np.log(np.linalg.det(2 * np.pi * model))


@pytest.mark.parametrize("model", ["wider", "narrower", "weaker correlations"])
def test_a_denoiser_of_the_wrong_distribution_gives_its_own_surprise_with_the_loss_difference(samples, model):
    """The exact denoiser of another Gaussian q (a network that learned the wrong covariance): the loss difference
    reads −log q(x) (on average over the same samples, well within KL(p‖q) = 0.11–0.22 nats of it, which is how far
    −log p lies), and it stays closer to the true −log p(x) per sample than Eq. 4.22 with the same denoiser and draws."""
    wrong = {"wider": 1.5 * COVARIANCE, "narrower": 0.7 * COVARIANCE,
             "weaker correlations": np.where(np.eye(6) > 0, COVARIANCE, 0.6 * COVARIANCE)}[model]  # fmt: skip
    oracle = GaussianOracle(wrong, DIMS, SCHEDULE)
    loss, score = both_forms(lambda x_in, tau, *_: oracle(x_in, tau), samples, repeats=48)
    x = samples[:, :3].double().numpy()
    exact, own = exact_surprise(x, INNER, np.zeros(3)), exact_surprise(x, wrong[:3, :3], np.zeros(3))
    kl = cross_entropy(INNER, wrong[:3, :3]) - entropy(INNER)
    assert abs(np.mean(loss - own)) < 0.4 * kl < np.mean(loss - exact)
    assert np.sqrt(np.mean((loss - exact) ** 2)) < 0.9 * np.sqrt(np.mean((score - exact) ** 2))

def test_loss_difference_stays_the_better_surprise_for_a_trained_denoiser(samples):
    """A briefly trained network (the imperfect denoiser of practice) on the same data."""
    x = samples.numpy().reshape(-1, 2, 3)
    estimator = InformationEstimator(EstimatorConfig(steps=800, width=64, batch_size=256, seed=0)).fit(x, ("entropy",))
    standardised = torch.from_numpy(estimator.network_inputs(samples.numpy()))
    scale = np.diag(1.0 / estimator.standardizer.std[:3].astype(np.float64))
    covariance, mean = scale @ INNER @ scale, -scale @ estimator.standardizer.mean[:3].astype(np.float64)
    loss, score = both_forms(lambda x_in, tau, *_: estimator.net(x_in, tau), standardised, repeats=48)
    exact = exact_surprise(standardised[:, :3].double().numpy(), covariance, mean)
    assert np.sqrt(np.mean((loss - exact) ** 2)) < 0.7 * np.sqrt(np.mean((score - exact) ** 2))
    assert abs(loss.mean() - entropy(covariance)) < 0.1
