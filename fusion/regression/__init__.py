"""The supervised direct regressor: a small U-Net trained night (+ LiDAR + radar) → day with L1.

It is the baseline a practitioner would try first; the evaluation reports it beside the MLD.
"""
