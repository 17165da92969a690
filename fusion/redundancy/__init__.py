"""Sensor-redundancy reports and the online redundancy monitor (SPEC §7).

Raw frames from the shards (``frames``) get faults injected before projection (``faults``), are
encoded by the perception autoencoders into per-sensor cell descriptors (``extract``,
``descriptors``), and the information estimators of ``fusion.information`` measure Ω, TC, DTC, S,
∂ᵢΩ and pairwise MI per condition (``analysis``, ``report``, ``html``, ``plots``). The monitor
(``monitor``, ``online``) scores single frames from pointwise contributions against thresholds
calibrated on nominal frames. Commands: ``redundancy``, ``monitor-calibrate``, ``monitor`` (``cli``).
"""
