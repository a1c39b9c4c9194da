"""What every figure module shares: the Axes to draw on and a channel's display name."""

from __future__ import annotations

import matplotlib.pyplot as plt

from imclab.config import CHANNEL_LABELS

__all__ = ["channel_label", "get_ax"]


def get_ax(ax: plt.Axes | None, size: tuple[float, float] = (8, 4.5)) -> plt.Axes:
    """Return ``ax``, or the Axes of a new figure of ``size`` inches when it is None.

    Parameters
    ----------
    ax
        The caller's Axes, or None.
    size
        Width and height of the new figure, in inches.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes to draw on.
    """
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=size)
    return ax


def channel_label(channel: str) -> str:
    """Return the display name of a channel (``paid_search`` -> ``Paid search``), else itself.

    Parameters
    ----------
    channel
        A channel name of the data.

    Returns
    -------
    str
        Its label in :data:`imclab.config.CHANNEL_LABELS`, or ``channel`` unchanged.
    """
    return CHANNEL_LABELS.get(channel, channel)
