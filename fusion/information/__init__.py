"""Score-based information estimators (MINDE, O-information) from one amortised multi-time denoiser (SPEC §6).

    from fusion.information import InformationEstimator, EstimatorConfig
    est = InformationEstimator(EstimatorConfig(steps=5000)).fit(X, measures=("o_information", "o_gradient"))
    result = est.measure(X_test)   # result["o_information"].value / .std / .pointwise
"""

from fusion.information.config import EstimatorConfig
from fusion.information.estimator import InformationEstimator
from fusion.information.measures import DEFAULT_MEASURES, MEASURES
from fusion.information.results import Estimate, InformationResult

__all__ = ["DEFAULT_MEASURES", "MEASURES", "Estimate", "EstimatorConfig", "InformationEstimator", "InformationResult"]
