"""Figures of the marketing-mix model: what is drawn, from hand-made frames."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from imclab.plotting import mmm as plots


def _summary(shift: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "channel": ["paid_search", "tv"],
            "roas": [3.0 + shift, 0.5 + shift],
            "roas_low": [1.0, 0.1],
            "roas_high": [5.0, 1.5],
        }
    )


def test_plot_roas_one_series_per_version_and_the_truth():
    ax = plots.plot_roas(
        {"before": _summary(0.0), "after": _summary(0.2)},
        truth=pd.Series({"tv": 1.1, "paid_search": 3.2}),
    )
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Paid search", "TV / offline"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(legend) == ["after", "before", "true ROAS (simulator)"]
    assert len(ax.containers) == 2  # one error-bar series per model version
    truth_line = [ln for ln in ax.get_lines() if ln.get_label() == "true ROAS (simulator)"][0]
    assert list(truth_line.get_xdata()) == [3.2, 1.1]  # in the summaries' channel order
    plt.close(ax.figure)


def test_plot_fit_draws_band_mean_and_observed_days():
    ppc = pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=5),
            "orders": [1.0, 2, 3, 4, 5],
            "predicted": [1.5, 2, 3, 3.5, 5],
            "low": [0.0, 1, 2, 3, 4],
            "high": [3.0, 4, 5, 6, 7],
        }
    )
    ax = plots.plot_fit(ppc)
    observed = [ln for ln in ax.get_lines() if ln.get_label() == "observed"][0]
    assert list(observed.get_ydata()) == [1.0, 2, 3, 4, 5]
    assert len(ax.collections) == 1  # the predictive band
    plt.close(ax.figure)
