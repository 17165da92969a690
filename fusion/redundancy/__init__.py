"""Sensor-redundancy reports and the online redundancy monitor (SPEC §7).

Raw frames from the shards (``frames``) get faults injected before projection (``faults``), are
encoded by the perception autoencoders into per-sensor cell descriptors (``extract``,
``descriptors``), and the information estimators of ``fusion.information`` measure Ω, TC, DTC, S,
∂ᵢΩ, per-sensor shares and pairwise MI per condition (``analysis``, ``report``, ``html``, ``plots``),
fitted and measured on different scenes (``scenes``), with bootstrap intervals over the measured
frames (``intervals``) and known-answer controls (``controls``). The monitor (``monitor``,
``online``) scores single frames from pointwise contributions against thresholds calibrated on
nominal frames of scenes it was not fitted on. Commands: ``redundancy``, ``monitor-calibrate``, ``monitor`` (``cli``).
"""
