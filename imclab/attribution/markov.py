"""Markov-chain attribution of order 1 to 4 with removal effects solved exactly (linear algebra).

States follow ChannelAttribution's construction so results can be cross-checked: for order
``k`` a path's states are its sliding windows of ``k`` consecutive channels (a path shorter
than ``k`` is one state), consecutive identical states are merged, and every path runs
``(start) -> states -> (conversion)`` for its conversions and ``-> (null)`` for its
non-converting journeys. Removing a channel sends every transition into a state that contains
it to ``(null)``. With ``Q`` the transient-to-transient transition matrix and ``r`` the
one-step conversion probabilities, the conversion probability from ``(start)`` is
``x[start]`` where ``(I - Q) x = r``: solved for the full chain and every removal at once by
the fixed-point iteration ``x <- r + Q x`` to 1e-15 (a sparse LU per removal when it does not
converge), no simulation. States are built vectorised from integer-coded paths
(:class:`~imclab.attribution.CodedPaths`), with no Python loop per path. A channel's
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

from imclab.attribution._common import CodedPaths, code_paths, tidy
from imclab.errors import ParameterError

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


@dataclass
class MarkovChain:
    """Transition counts of the absorbing chain built from unique paths.

    Attributes
    ----------
    state_codes
        Transient states as rows of channel codes (``-1`` pads a state shorter than the
        order); row 0 is ``(start)`` (all ``-1``).
    names
        Channel names of the codes.
    counts
        Sparse (n x n) journey counts between transient states.
    to_conversion, to_null
        Journey counts from each transient state into the absorbing states.
    value_out
        Conversion revenue leaving each state into ``(conversion)``.
    channels
        Channels present in the chain (sorted).
    """

    state_codes: np.ndarray
    names: tuple[str, ...]
    counts: sp.csr_matrix
    to_conversion: np.ndarray
    to_null: np.ndarray
    value_out: np.ndarray
    channels: list[str]
    order: int

    @property
    def states(self) -> list[tuple[str, ...]]:
        """Transient states: ``(start)``, then channel tuples (in order of first appearance)."""
        names = self.names
        return [(START,)] + [
            tuple(names[c] for c in row if c >= 0) for row in self.state_codes[1:].tolist()
        ]


def _check_order(order: int) -> None:
    if order not in (1, 2, 3, 4):
        raise ParameterError(f"markov order: expected 1, 2, 3 or 4, found {order!r}")


def _incidence(paths: pd.DataFrame | CodedPaths, order: int):
    """Per unique path: its state transitions (path row, from, to) and last state.

    Vectorised over all touches: a path's states are its windows of ``order`` channels
    (one shorter window for a shorter path), each window coded as one integer (its channel
    codes + 1 as digits in base ``channels + 1``, 0 for a short window's missing channel);
    repeats of a state are merged; states are numbered in order of first appearance
    (``(start)`` = 0). Returns ``(state_codes, names), rows, frm, to, last`` (``last`` = -1
    for untouched paths).
    """
    cp = code_paths(paths)
    lengths = cp.lengths
    n_touch = len(cp.codes)
    base = len(cp.names) + 1
    touched = np.flatnonzero(lengths > 0)
    last = np.full(len(lengths), -1, dtype=np.int64)
    if n_touch == 0:
        empty = np.zeros(0, dtype=np.int64)
        return (np.full((1, order), -1, dtype=np.int64), cp.names), empty, empty, empty, last
    starts = cp.starts[touched]
    head = np.zeros(n_touch, dtype=bool)  # a path's first touch (and first window)
    head[starts] = True
    key = digit = cp.codes + 1
    if order > 1:
        # touches left in the path from each touch on (itself included)
        left = np.repeat(starts + lengths[touched], lengths[touched]) - np.arange(n_touch)
        for m in range(1, order):
            nxt = np.zeros(n_touch, dtype=np.int64)
            nxt[:-m] = digit[m:]
            key = key * base + np.where(left > m, nxt, 0)
        # the windows: every full one, and the one short window of a path shorter than order
        win = np.flatnonzero((left >= order) | head)
        key, head = key[win], head[win]
    # merge consecutive identical states of a path
    keep = head.copy()
    keep[1:] |= key[1:] != key[:-1]
    key, head = key[keep], head[keep]
    to, first = _first_appearance_ids(key, base**order)
    state_codes = np.full((len(first) + 1, order), -1, dtype=np.int64)
    digits = key[first]
    for m in range(order - 1, -1, -1):  # the channels of each state, decoded from its key
        state_codes[1:, m] = digits % base - 1
        digits = digits // base
    path = touched[np.cumsum(head) - 1]
    frm = np.empty_like(to)
    frm[1:] = to[:-1]
    frm[head] = 0
    end = np.ones(len(head), dtype=bool)  # a path's last state
    end[:-1] = head[1:]
    last[touched] = to[end]
    return (state_codes, cp.names), path, frm, to, last


def _first_appearance_ids(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Assign the distinct keys ids 1, 2, ... in order of first appearance.

    Returns the id of every key and, per id, the index of its first appearance.
    """
    if space <= 4_000_000:  # a dense table over the key space: no sort of all keys
        first = np.full(space, len(key), dtype=np.int64)
        np.minimum.at(first, key, np.arange(len(key)))
        seen = np.flatnonzero(first < len(key))
        order = np.argsort(first[seen], kind="stable")
        table = np.zeros(space, dtype=np.int64)
        table[seen[order]] = np.arange(1, len(seen) + 1)
        return table[key], first[seen][order]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(1, len(uniq) + 1)
    return rank[inv], first[order]


def build_chain(paths: pd.DataFrame | CodedPaths, order: int = 1) -> MarkovChain:
    """Count the transitions of the order-``order`` chain over the paths' journeys.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``nulls``, ``value``) or
        :class:`~imclab.attribution.CodedPaths`; ``(no touch)`` paths are left out of the chain.
    order
        Markov order, 1 to 4.

    Returns
    -------
    MarkovChain
    """
    _check_order(order)
    cp = code_paths(paths)
    states, rows, frm, to, last = _incidence(cp, order)
    return _chain_from(states, rows, frm, to, last, cp, order)


def _chain_from(states, rows, frm, to, last, paths, order, conv=None, nulls=None, value=None):
    """Build the chain of an incidence (from :func:`_incidence`) with the given path counts."""
    state_codes, names = states
    if conv is None or nulls is None or value is None:
        cp = code_paths(paths)
        conv = cp.conversions if conv is None else conv
        nulls = cp.nulls if nulls is None else nulls
        value = cp.value if value is None else value
    n = len(state_codes)
    w = (conv + nulls)[rows] if len(rows) else np.zeros(0)
    if n * n <= 1_000_000:  # few states: sum the transitions by pair first
        pair = np.bincount(frm * n + to, weights=w, minlength=n * n)
        nz = np.flatnonzero(pair)
        counts = sp.csr_matrix((pair[nz], (nz // n, nz % n)), shape=(n, n))
    else:
        counts = sp.csr_matrix((w, (frm, to)), shape=(n, n))
    ok = last >= 0
    to_conv = np.bincount(last[ok], weights=conv[ok], minlength=n)
    to_null = np.bincount(last[ok], weights=nulls[ok], minlength=n)
    val_out = np.bincount(last[ok], weights=value[ok], minlength=n)
    used = np.unique(state_codes[1:][state_codes[1:] >= 0])
    chans = [names[c] for c in used]
    return MarkovChain(state_codes, names, counts, to_conv, to_null, val_out, chans, order)


#: Fixed-point iterations before the sparse LU takes over.
MAX_ITERATIONS = 2000


def _fixed_point(q: sp.csr_matrix, rhs: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Solve ``x = mask * (rhs + Q x)`` for every column by iteration (None: no convergence).

    Starting from 0 the iterates increase monotonically to the solution (Q, rhs >= 0). Every
    8 iterations the last two steps estimate the rate ``rho`` of their geometric decrease;
    the iteration stops when the remaining error (``step * rho / (1 - rho)``) is below 1e-15
    of the solution in every column.
    """
    x = np.zeros_like(rhs)
    prev_step = None
    for k in range(MAX_ITERATIONS):
        new = q @ x
        new += rhs
        new *= mask
        if k % 8 < 6:
            x = new
            continue
        step = np.abs(new - x).max(axis=0)
        x = new
        if not np.all(np.isfinite(x)):
            return None
        if k % 8 == 7:
            if np.all(step == 0):
                return x
            scale = np.abs(x).max(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = np.where(prev_step > 0, step / prev_step, 0.0)
            if np.all(rho < 1):
                bound = step * rho / (1 - rho)
                if np.all(bound <= 1e-15 * np.where(scale > 0, scale, 1.0)):
                    return x
        prev_step = step
    return None


def _solve_all(chain: MarkovChain) -> np.ndarray:
    """Solve the chain and every channel's removal at once.

    Returns the conversion probability and the expected value per journey from (start), for
    the full chain (row 0) and with each of ``chain.channels`` removed (rows 1..): shape
    (1 + C, 2).

    Removing a channel makes every state containing it a dead end (-> null). All removals
    are solved together by the fixed-point iteration ``x <- r + Q x``; a sparse LU per
    removal is the fallback when the iteration does not converge.
    """
    counts = chain.counts.tocsr()
    out = np.asarray(counts.sum(axis=1)).ravel() + chain.to_conversion + chain.to_null
    safe = np.where(out > 0, out, 1.0)
    q = (sp.diags(1.0 / safe) @ counts).tocsr()
    r = chain.to_conversion / safe
    rv = chain.value_out / safe
    n = len(chain.state_codes)
    code = {c: k for k, c in enumerate(chain.names)}
    masks = [np.ones(n, dtype=bool)]
    for c in chain.channels:
        keep = ~(chain.state_codes == code[c]).any(axis=1)
        keep[0] = True
        masks.append(keep)
    mask = np.repeat(np.column_stack(masks).astype(float), 2, axis=1)
    rhs = mask * np.tile(np.column_stack([r, rv]), (1, len(masks)))
    x = _fixed_point(q, rhs, mask)
    if x is not None:
        return x[0].reshape(len(masks), 2)
    res = np.empty((len(masks), 2))
    for i, keep in enumerate(masks):
        qk = q[keep][:, keep]
        a = (sp.identity(qk.shape[0], format="csc") - qk.tocsc()).tocsc()
        sol = splu(a).solve(np.column_stack([r[keep], rv[keep]]))
        res[i] = sol[0]
    return res


def removal_effects(paths: pd.DataFrame | CodedPaths, order: int = 1) -> pd.DataFrame:
    """Compute every channel's removal effect on conversions and on value, exactly.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``nulls``, ``value``) or
        :class:`~imclab.attribution.CodedPaths`.
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
    x = _solve_all(chain)
    p, v = x[0]
    pc, vc = x[1:, 0], x[1:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        re_c = 1.0 - pc / p if p > 0 else np.zeros(len(pc))
        re_v = 1.0 - vc / v if v > 0 else np.zeros(len(vc))
    out = pd.DataFrame(
        {"channel": chain.channels, "removal_effect": re_c, "removal_effect_value": re_v,
         "p_conversion_without": pc, "p_conversion": np.full(len(pc), p)}
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


def markov(paths: pd.DataFrame | CodedPaths, order: int = 1) -> pd.DataFrame:
    """Markov-chain attribution: conversions and value shared by removal effects.

    Parameters
    ----------
    paths
        Unique paths (``channels``, ``conversions``, ``nulls``, ``value``) or
        :class:`~imclab.attribution.CodedPaths`.
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
    cp = code_paths(paths)
    effects = removal_effects(cp, order)
    touched = cp.lengths > 0
    conv, val = _credits(
        effects, float(cp.conversions[touched].sum()), float(cp.value[touched].sum())
    )
    return tidy(conv, val, f"markov_{order}", cp, channels=list(effects["channel"]))


def transition_matrix(paths: pd.DataFrame | CodedPaths, order: int = 1) -> pd.DataFrame:
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
