"""Markov-chain attribution of order 1 to 4 with removal effects solved exactly (linear algebra).

States follow ChannelAttribution's construction so results can be cross-checked: for order
``k`` a path's states are its sliding windows of ``k`` consecutive channels (a path shorter
than ``k`` is one state), consecutive identical states are merged, and every path runs
``(start) -> states -> (conversion)`` for its conversions and ``-> (null)`` for its
non-converting journeys. Removing a channel sends every transition into a state that contains
it to ``(null)``. With ``Q`` the transient-to-transient transition matrix and ``r`` the
one-step conversion probabilities, the conversion probability from ``(start)`` is
``x[start]`` where ``(I - Q) x = r`` (solved with a sparse LU, no simulation). A channel's
removal effect is ``1 - P(conversion without it) / P(conversion)``; conversions are shared in
proportion to removal effects. Value uses the same chain with ``r`` replaced by the expected
order value on converting from each state (mean revenue of the conversions that left it), so
value removal effects measure the expected revenue lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from imclab.attribution._common import check_paths, tidy
from imclab.errors import ParameterError

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def _states(channels: tuple[str, ...], order: int) -> list[tuple[str, ...]]:
    if len(channels) <= order:
        states = [tuple(channels)]
    else:
        states = [tuple(channels[i : i + order]) for i in range(len(channels) - order + 1)]
    out = [states[0]]
    for s in states[1:]:
        if s != out[-1]:
            out.append(s)
    return out


@dataclass
class MarkovChain:
    """Transition counts of the absorbing chain built from unique paths.

    Attributes
    ----------
    states
        Transient states: index 0 is ``(start)``, then channel tuples.
    counts
        Sparse (n x n) journey counts between transient states.
    to_conversion, to_null
        Journey counts from each transient state into the absorbing states.
    value_out
        Conversion revenue leaving each state into ``(conversion)``.
    channels
        Channels present in the chain (sorted).
    """

    states: list[tuple[str, ...]]
    counts: sp.csr_matrix
    to_conversion: np.ndarray
    to_null: np.ndarray
    value_out: np.ndarray
    channels: list[str]
    order: int


def _check_order(order: int) -> None:
    if order not in (1, 2, 3, 4):
        raise ParameterError(f"markov order: expected 1, 2, 3 or 4, found {order!r}")


def _incidence(paths: pd.DataFrame, order: int):
    """Per unique path: its state transitions (path row, from, to) and last state."""
    index: dict[tuple[str, ...], int] = {(START,): 0}
    rows, frm, to, last = [], [], [], []
    touched = paths["channels"].map(len).to_numpy() > 0
    for i, ch in enumerate(paths["channels"].to_numpy()):
        if not touched[i]:
            last.append(-1)
            continue
        prev = 0
        for s in _states(ch, order):
            k = index.setdefault(s, len(index))
            rows.append(i)
            frm.append(prev)
            to.append(k)
            prev = k
        last.append(prev)
    states = [None] * len(index)
    for s, k in index.items():
        states[k] = s
    return states, np.asarray(rows), np.asarray(frm), np.asarray(to), np.asarray(last)


def build_chain(paths: pd.DataFrame, order: int = 1) -> MarkovChain:
    """Count the transitions of the order-``order`` chain over the paths' journeys.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``nulls``, ``value``); ``(no touch)``
        paths are left out of the chain.
    order
        Markov order, 1 to 4.

    Returns
    -------
    MarkovChain
    """
    _check_order(order)
    check_paths(paths)
    states, rows, frm, to, last = _incidence(paths, order)
    return _chain_from(states, rows, frm, to, last, paths, order)


def _chain_from(states, rows, frm, to, last, paths, order, conv=None, nulls=None, value=None):
    conv = paths["conversions"].to_numpy(float) if conv is None else conv
    nulls = paths["nulls"].to_numpy(float) if nulls is None else nulls
    value = paths["value"].to_numpy(float) if value is None else value
    n = len(states)
    w = (conv + nulls)[rows] if len(rows) else np.zeros(0)
    counts = sp.csr_matrix((w, (frm, to)), shape=(n, n))
    ok = last >= 0
    to_conv = np.bincount(last[ok], weights=conv[ok], minlength=n)
    to_null = np.bincount(last[ok], weights=nulls[ok], minlength=n)
    val_out = np.bincount(last[ok], weights=value[ok], minlength=n)
    chans = sorted({c for s in states[1:] for c in s})
    return MarkovChain(states, counts, to_conv, to_null, val_out, chans, order)


def _solve(chain: MarkovChain, removed: str | None = None) -> tuple[float, float]:
    """Return the conversion probability and expected value per journey from (start).

    With ``removed``, every state containing that channel becomes a dead end (-> null).
    """
    counts = chain.counts.tocsr()
    out = np.asarray(counts.sum(axis=1)).ravel() + chain.to_conversion + chain.to_null
    keep = np.ones(len(chain.states), dtype=bool)
    if removed is not None:
        keep = np.array([removed not in s for s in chain.states])
        keep[0] = True
    safe = np.where(out > 0, out, 1.0)
    inv = sp.diags(1.0 / safe)
    q = inv @ counts
    q = q[keep][:, keep]
    r = chain.to_conversion[keep] / safe[keep]
    rv = chain.value_out[keep] / safe[keep]
    a = (sp.identity(q.shape[0], format="csc") - q.tocsc()).tocsc()
    lu = splu(a)
    x = lu.solve(np.column_stack([r, rv]))
    return float(x[0, 0]), float(x[0, 1])


def removal_effects(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Compute every channel's removal effect on conversions and on value, exactly.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``nulls``, ``value``).
    order
        Markov order, 1 to 4.

    Returns
    -------
    pandas.DataFrame
        ``channel``, ``removal_effect`` (share of the conversion probability lost when the
        channel is removed), ``removal_effect_value``, ``p_conversion_without`` and the
        chain's ``p_conversion`` (same for all rows); sorted by channel.
    """
    chain = build_chain(paths, order)
    return _removal(chain)


def _removal(chain: MarkovChain) -> pd.DataFrame:
    p, v = _solve(chain)
    rows = []
    for c in chain.channels:
        pc, vc = _solve(chain, c)
        rows.append((c, 1.0 - pc / p if p > 0 else 0.0, 1.0 - vc / v if v > 0 else 0.0, pc, p))
    out = pd.DataFrame(
        rows,
        columns=["channel", "removal_effect", "removal_effect_value", "p_conversion_without",
                 "p_conversion"],
    )  # fmt: skip
    # Round-off can leave -1e-17 for a channel that never precedes a conversion.
    out[["removal_effect", "removal_effect_value"]] = out[
        ["removal_effect", "removal_effect_value"]
    ].clip(lower=0.0)
    return out


def _credits(effects: pd.DataFrame, total_conv: float, total_value: float):
    re_c = effects.set_index("channel")["removal_effect"]
    re_v = effects.set_index("channel")["removal_effect_value"]
    conv = re_c / re_c.sum() * total_conv if re_c.sum() > 0 else re_c * 0.0
    val = re_v / re_v.sum() * total_value if re_v.sum() > 0 else re_v * 0.0
    return conv, val


def markov(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Markov-chain attribution: conversions and value shared by removal effects.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``nulls``, ``value``).
    order
        Markov order, 1 to 4 (higher orders remember more of the path; they need more
        journeys per state to be stable).

    Returns
    -------
    pandas.DataFrame
        ``channel, model, conversions, value, share`` with model ``markov_<order>``; the
        channel credits sum to the conversions (and value) of the touched journeys; a
        ``(no touch)`` row holds the rest.
    """
    check_paths(paths)
    effects = removal_effects(paths, order)
    touched = paths["channels"].map(len) > 0
    conv, val = _credits(
        effects,
        float(paths.loc[touched, "conversions"].sum()),
        float(paths.loc[touched, "value"].sum()),
    )
    return tidy(conv, val, f"markov_{order}", paths, channels=list(effects["channel"]))


def transition_matrix(paths: pd.DataFrame, order: int = 1) -> pd.DataFrame:
    """Estimated transition probabilities, including ``(start)``, ``(conversion)``, ``(null)``.

    Parameters
    ----------
    paths
        Unique paths.
    order
        Markov order, 1 to 4; states of higher orders are labelled ``a > b``.

    Returns
    -------
    pandas.DataFrame
        Square matrix: rows ``from`` states, columns ``to`` states (each row sums to 1).
    """
    chain = build_chain(paths, order)
    labels = [START] + [" > ".join(s) for s in chain.states[1:]]
    dense = chain.counts.toarray()
    full = np.column_stack([dense, chain.to_conversion, chain.to_null])
    tot = full.sum(axis=1, keepdims=True)
    prob = np.divide(full, tot, out=np.zeros_like(full), where=tot > 0)
    return pd.DataFrame(prob, index=pd.Index(labels, name="from"),
                        columns=pd.Index([*labels, CONVERSION, NULL], name="to"))  # fmt: skip
