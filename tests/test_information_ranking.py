"""Scoring ∂_iΩ as a ranking of the variables (closed form)."""

import numpy as np
import pytest

from fusion.information.ranking import rank_agreement


def test_same_order_scores_perfectly_and_reversed_order_fails():
    truth = np.array([0.30, -0.20, 0.10, 0.05])
    shifted = rank_agreement(truth * 2.0 + 1.0, truth)  # values off, order kept
    assert shifted["spearman"] == pytest.approx(1.0)
    assert shifted["same_argmax"] and shifted["same_argmin"] and shifted["pairs_in_order"] == 1.0
    reversed_ = rank_agreement(-truth, truth)
    assert reversed_["spearman"] == pytest.approx(-1.0)
    assert not reversed_["same_argmax"] and not reversed_["same_argmin"] and reversed_["pairs_in_order"] == 0.0


def test_pairs_closer_than_the_margin_are_not_counted():
    truth = np.array([0.50, 0.51, 0.00])  # 0 and 1 tie at a 0.05 margin
    swapped_tie = rank_agreement(np.array([0.49, 0.52, 0.0]), truth)
    assert swapped_tie["resolved_pairs"] == 2 and swapped_tie["pairs_in_order"] == 1.0
    one_wrong = rank_agreement(np.array([0.5, -0.1, 0.0]), truth)
    assert one_wrong["pairs_in_order"] == 0.5 and not one_wrong["same_argmin"]
    assert np.isnan(rank_agreement(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.01, 0.02]))["pairs_in_order"])


def test_rejects_mismatched_or_too_short_vectors():
    with pytest.raises(ValueError):
        rank_agreement(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        rank_agreement(np.zeros(2), np.zeros(2))
