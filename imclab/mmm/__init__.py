"""Marketing-mix model: incremental orders, ROAS and response curves per channel (PyMC-Marketing).

- :mod:`imclab.mmm.data`: the daily model input built from the world (:func:`build_input`)
- :mod:`imclab.mmm.model`: the Bayesian model (:class:`MarketingMix`) and what is read from it
- :mod:`imclab.mmm.calibrate`: the geo holdout's measured lift added to the posterior
- :mod:`imclab.mmm.priors`: the hazard attribution's channel shares added to the likelihood
- :mod:`imclab.mmm.delivery`: delivery curves (touches bought per day of spend) from the logs
- :mod:`imclab.mmm.curves`: posterior response curves for the budget optimiser (hand-over file)
"""

from imclab.mmm.calibrate import Calibration, calibrate
from imclab.mmm.curves import PosteriorCurves
from imclab.mmm.data import MMMInput, build_input
from imclab.mmm.delivery import DeliveryCurves, daily_delivery, fit_delivery
from imclab.mmm.model import Diagnostics, MarketingMix, hdi
from imclab.mmm.priors import hazard_shares, measure_shares

__all__ = [
    "Calibration",
    "DeliveryCurves",
    "Diagnostics",
    "MMMInput",
    "MarketingMix",
    "PosteriorCurves",
    "build_input",
    "calibrate",
    "daily_delivery",
    "fit_delivery",
    "hazard_shares",
    "hdi",
    "measure_shares",
]
