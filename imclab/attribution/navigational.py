"""Navigational channels: touches that capture demand rather than create it, as non-channels.

A navigational touch (a typed-in address, a brand-name search, a bookmark) usually follows
the decision to buy, so crediting it mistakes a consequence for a cause. The plan lists such
channels (``navigational_channels``, default ``[direct]``); :func:`drop_navigational` removes
them from every journey of a paths table once, so that every model works on the same
transformed paths:

- **Markov**: a removed state is passed through (``seo > direct > (conversion)`` becomes
  ``seo > (conversion)``), so no removal effect is ever measured for it.
- **Shapley**: the channel is no player of any coalition.
- **Rules** (first, last, linear, time decay, position): the touch is skipped, as
  last-non-direct skips ``direct``; time-decay weights are rescaled over the touches left.

A converting journey whose only touches were navigational becomes ``(no touch)`` (reported on
its own row by every model, outside the shares); a non-converting one is dropped and counted.
Paths that become identical are merged (counts, value and decay weights added).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imclab.attribution._common import check_paths, code_paths, remember_tuples
from imclab.attribution.journeys import NO_TOUCH, SEP
from imclab.errors import ParameterError


@dataclass
class NavigationalResult:
    """Paths without navigational touches and what the transformation changed.

    Attributes
    ----------
    paths
        The transformed paths table (same columns as the input).
    report
        ``item, count`` rows: touches removed, converting journeys left with no touch,
        non-converting journeys dropped, unique paths before and after.
    """

    paths: pd.DataFrame
    report: pd.DataFrame


def _collapse(channels: tuple, weights: list[float]) -> tuple[tuple, list[float]]:
    out_c: list = []
    out_w: list[float] = []
    for c, w in zip(channels, weights, strict=True):
        if out_c and out_c[-1] == c:
            out_w[-1] += w
        else:
            out_c.append(c)
            out_w.append(w)
    return tuple(out_c), out_w


def drop_navigational(
    paths: pd.DataFrame,
    navigational_channels: Sequence[str],
    *,
    collapse_repeats: bool,
) -> NavigationalResult:
    """Remove navigational channels from every journey of a paths table.

    Parameters
    ----------
    paths
        Unique paths from :func:`imclab.attribution.build_journeys` (or
        :func:`imclab.attribution.paths_from_strings`).
    navigational_channels
        Channels (or channel groups, as the paths name them) treated as non-channels; empty:
        the paths are returned unchanged.
    collapse_repeats
        Whether the journeys were built with ``collapse_repeats`` (runs of one channel that
        become adjacent are then merged again, their decay weights added).

    Returns
    -------
    NavigationalResult
    """
    check_paths(paths)
    nav = [str(c) for c in navigational_channels]
    if any(not c for c in nav):
        raise ParameterError("navigational_channels: an empty channel name was given")
    navset = set(nav)
    keys = ["segment"] if "segment" in paths.columns else []
    has_decay = "decay" in paths.columns
    rows = []
    src = []  # the input row of every output row
    removed = 0
    orphan_conv = 0.0
    orphan_nulls = 0.0
    for i, rec in enumerate(paths.to_dict("records")):
        ch = tuple(rec["channels"])
        keep = [i for i, c in enumerate(ch) if c not in navset]
        removed += (len(ch) - len(keep)) * (rec["conversions"] + rec["nulls"])
        new = tuple(ch[i] for i in keep)
        d = list(rec["decay"]) if has_decay and len(rec["decay"]) == len(ch) else None
        dv = list(rec["decay_value"]) if has_decay and len(rec["decay_value"]) == len(ch) else None
        if d is not None:
            d = [d[i] for i in keep]
            dv = [dv[i] for i in keep]
            if collapse_repeats:
                _, dv = _collapse(new, dv)
                new_c, d = _collapse(new, d)
            else:
                new_c = new
            # rescale so each path's time-decay credit still sums to its conversions (value)
            if sum(d) > 0:
                d = list(np.asarray(d) * rec["conversions"] / sum(d))
            if sum(dv) > 0:
                dv = list(np.asarray(dv) * rec["value"] / sum(dv))
            new = new_c
        elif collapse_repeats:
            new, _ = _collapse(new, [0.0] * len(new))
        if ch and not new:
            orphan_conv += rec["conversions"]
            orphan_nulls += rec["nulls"]
            if rec["conversions"] == 0:
                continue
            rec = {**rec, "nulls": 0.0}
        rec = {**rec, "channels": new}
        if has_decay:
            rec["decay"] = tuple(d) if d is not None and new else ()
            rec["decay_value"] = tuple(dv) if dv is not None and new else ()
        rows.append(rec)
        src.append(i)
    out = pd.DataFrame(rows, columns=paths.columns)
    out["_src"] = np.asarray(src, dtype=np.int64)
    out["path"] = [SEP.join(c) if c else NO_TOUCH for c in out["channels"]]
    out["length"] = out["channels"].map(len).astype(int)
    agg = {"channels": "first", "length": "first"}
    agg.update({c: "sum" for c in ("conversions", "nulls", "value")})
    if has_decay:
        agg.update({"decay": _sum_tuples, "decay_value": _sum_tuples})
    extra = [c for c in paths.columns if c not in agg and c not in ("path", *keys)]
    for c in extra:
        agg[c] = "first"
    agg["_src"] = "first"
    merged = out.groupby([*keys, "path"], sort=False, as_index=False).agg(agg)
    order = [*keys, "conversions", "nulls", "path"]
    asc = [True] * len(keys) + [False, False, True]
    merged = merged.sort_values(order, ascending=asc, kind="mergesort").reset_index(drop=True)
    for col in ("conversions", "nulls", "value"):
        merged[col] = merged[col].astype(paths[col].dtype)
    result = merged[list(paths.columns)]
    _remember_coding(paths, result, merged["_src"].to_numpy(), navset, collapse_repeats)
    report = pd.DataFrame(
        {
            "item": [
                "navigational channels",
                "navigational touches removed",
                "converting journeys left with no touch",
                "non-converting journeys dropped (navigational touches only)",
                "unique paths before",
                "unique paths after",
            ],
            "count": [
                ", ".join(nav) if nav else "(none)",
                int(round(removed)),
                int(round(orphan_conv)),
                int(round(orphan_nulls)),
                len(paths),
                len(merged),
            ],
        }
    )
    return NavigationalResult(paths=result, report=report)


def _remember_coding(
    paths: pd.DataFrame, result: pd.DataFrame, src: np.ndarray, navset: set, collapse: bool
) -> None:
    """Code the result's channels from the input's coding (columnar), for the models.

    Output row ``r`` holds the channels of input row ``src[r]`` without the navigational
    touches (and with repeats collapsed); so the models need not hash every channel string
    again (:func:`imclab.attribution._common.remember_tuples`).
    """
    if isinstance(result["channels"].dtype, pd.ArrowDtype) or not len(result):
        return
    cp = code_paths(paths)
    n = len(cp.lengths)
    nav = [k for k, name in enumerate(cp.names) if name in navset]
    keep = ~np.isin(cp.codes, nav)
    kc, kp = cp.codes[keep], cp.path_of_touch[keep]
    if collapse:  # a touch equal to the previous one kept on the same path merges into it
        dup = np.zeros(len(kc), dtype=bool)
        dup[1:] = (kc[1:] == kc[:-1]) & (kp[1:] == kp[:-1])
        kc, kp = kc[~dup], kp[~dup]
    new_len = np.bincount(kp, minlength=n).astype(np.int64)
    new_start = np.cumsum(new_len) - new_len
    out_len = new_len[src]
    out_start = np.cumsum(out_len) - out_len
    at = np.arange(int(out_len.sum())) + np.repeat(new_start[src] - out_start, out_len)
    codes = kc[at]
    used = np.flatnonzero(np.bincount(codes, minlength=len(cp.names)))
    rank = np.zeros(len(cp.names), dtype=np.int64)
    rank[used] = np.arange(len(used))
    names = tuple(cp.names[k] for k in used)
    remember_tuples(result["channels"].tolist(), names, rank[codes], out_len)


def _sum_tuples(values: pd.Series) -> tuple:
    vals = [v for v in values if len(v)]
    if not vals:
        return ()
    return tuple(np.sum(np.asarray(vals, dtype=float), axis=0))


def shares_before_after(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Each model's channel shares with and without the navigational channels, side by side.

    Parameters
    ----------
    before, after
        Stacked tidy results (:func:`imclab.attribution.run_models`) on the original paths
        and on the paths of :func:`drop_navigational`.

    Returns
    -------
    pandas.DataFrame
        Index ``channel``; columns (model, ``before``/``after``); a channel absent after the
        transformation has share 0 there.
    """
    parts = []
    for label, res in (("before", before), ("after", after)):
        r = res[res["channel"] != NO_TOUCH]
        parts.append(r.assign(when=label))
    both = pd.concat(parts, ignore_index=True)
    table = both.pivot_table(
        index="channel", columns=["model", "when"], values="share", fill_value=0.0, sort=False
    )
    models = list(pd.unique(before["model"]))
    cols = [(m, w) for m in models for w in ("before", "after") if (m, w) in table.columns]
    return table[cols].sort_index()
