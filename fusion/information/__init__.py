"""Score-based information estimators (MINDE, O-information) from one amortised multi-time denoiser (SPEC §6).

    from fusion.information import InformationEstimator, EstimatorConfig
    est = InformationEstimator(EstimatorConfig(steps=5000)).fit(X, measures=("o_information", "o_gradient"))
    result = est.measure(X_test)   # result["o_information"].value / .std / .pointwise

The names are resolved on first use, so that importing the package (e.g. for the CLI) does not load
the denoiser's dependencies.
"""

from importlib import import_module

_EXPORTS = {
    "DEFAULT_MEASURES": "fusion.information.measures",
    "MEASURES": "fusion.information.measures",
    "EstimatorConfig": "fusion.information.config",
    "InformationEstimator": "fusion.information.estimator",
    "Estimate": "fusion.information.results",
    "InformationResult": "fusion.information.results",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
