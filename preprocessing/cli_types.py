"""Click parameter types shared by the commands' options."""

from __future__ import annotations

import math

import click


class FiniteFloat(click.FloatRange):
    """A float option within optional bounds that refuses NaN and ±inf: no option means anything there
    (``--guidance inf`` gave black frames), and click's ``FloatRange`` (typer's ``min``/``max``) lets NaN
    through every bound. Use as ``typer.Option(..., click_type=FiniteFloat(min=0.0))``."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
