"""The helpers every figure module shares (`imclab.plotting._common`)."""

from __future__ import annotations

import matplotlib.pyplot as plt

from imclab.plotting._common import channel_label, get_ax


def test_get_ax_draws_on_the_callers_axes_or_a_new_figure_of_the_size():
    _, mine = plt.subplots()
    assert get_ax(mine) is mine
    new = get_ax(None, (5, 2))
    assert new is not mine
    assert tuple(new.figure.get_size_inches()) == (5, 2)
    plt.close("all")


def test_channel_label_names_known_channels_and_keeps_unknown_ones():
    assert channel_label("paid_search") == "Paid search"
    assert channel_label("podcast") == "podcast"
