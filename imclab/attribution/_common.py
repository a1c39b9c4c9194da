"""Shared helpers of the attribution models: integer-coded paths and the tidy result frame.

Every model works on :class:`CodedPaths`: the channels of all paths concatenated as integer
codes (``codes``) with each path's ``lengths``, so no model step loops over paths in Python.
:func:`code_paths` makes one from a paths table whose ``channels`` column holds tuples (as
:func:`imclab.attribution.build_journeys` returns) or an Arrow list column
(``pd.ArrowDtype(pa.list_(pa.string()))``), or passes a :class:`CodedPaths` through.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd

from imclab.attribution.journeys import NO_TOUCH
from imclab.errors import DataError

RESULT_COLUMNS = ["channel", "model", "conversions", "value", "share"]


@dataclass(frozen=True, eq=False)
class CodedPaths:
    """Unique paths with integer-coded channels (one flat array for all paths).

    Attributes
    ----------
    names
        Channel names, sorted; a code ``k`` means ``names[k]``.
    codes
        Channel codes of every touch, path after path, in path order (int64).
    lengths
        Touches per path (0 for a ``(no touch)`` path).
    conversions, nulls, value
        Per path: converting journeys, non-converting journeys, conversion revenue.
    decay, decay_value
        Optional, per touch (aligned with ``codes``): the time-decay credit of the path's
        converting journeys (zeros for a path without them); needed by ``time_decay`` only.
    """

    names: tuple[str, ...]
    codes: np.ndarray
    lengths: np.ndarray
    conversions: np.ndarray
    nulls: np.ndarray
    value: np.ndarray
    decay: np.ndarray | None = None
    decay_value: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.lengths)
        for col in ("conversions", "nulls", "value"):
            arr = getattr(self, col)
            if len(arr) != n:
                raise DataError(f"paths: '{col}' has {len(arr)} entries for {n} paths")
            neg = np.flatnonzero(arr < 0)
            if len(neg):
                raise DataError(f"paths: column '{col}' is negative in rows {list(neg[:10])}")
        if int(self.lengths.sum()) != len(self.codes):
            raise DataError(
                f"paths: the lengths add up to {int(self.lengths.sum())} touches, "
                f"the codes hold {len(self.codes)}"
            )
        if len(self.codes) and (self.codes.min() < 0 or self.codes.max() >= len(self.names)):
            raise DataError(f"paths: channel codes must lie in 0..{len(self.names) - 1}")

    @property
    def starts(self) -> np.ndarray:
        """Index in ``codes`` of each path's first touch."""
        return np.cumsum(self.lengths) - self.lengths

    @property
    def path_of_touch(self) -> np.ndarray:
        """Path index of every touch."""
        return np.repeat(np.arange(len(self.lengths)), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """Position of every touch in its path (0 = first)."""
        return np.arange(len(self.codes)) - np.repeat(self.starts, self.lengths)

    def channels_present(self) -> list[str]:
        """Channels touched by at least one path (sorted)."""
        used = np.bincount(self.codes, minlength=len(self.names)) > 0
        return [c for c, u in zip(self.names, used, strict=True) if u]


def check_paths(paths: pd.DataFrame) -> pd.DataFrame:
    """Validate a paths table (as :func:`build_journeys` returns) and return it."""
    if isinstance(paths, CodedPaths):  # validated when it was made
        return paths
    need = ["channels", "conversions", "nulls", "value"]
    missing = [c for c in need if c not in paths.columns]
    if missing:
        raise DataError(
            f"paths: missing column(s) {', '.join(missing)}; build them with build_journeys()"
        )
    for col in ("conversions", "nulls", "value"):
        neg = np.flatnonzero(paths[col].to_numpy() < 0)
        if len(neg):
            rows = list(paths.index[neg[:10]])
            raise DataError(f"paths: column '{col}' is negative in rows {rows}")
    return paths


# A few slots: the channel structure of the last channel columns coded (most recent first),
# keyed on their content (a list of tuples) or on the identity of an immutable Arrow array.
# A producer of tuple paths (build_journeys, paths_from_strings, drop_navigational) fills a
# slot with the structure it computed columnar, so no model pays a hash per channel string.
_SLOTS: list[tuple[object, tuple]] = []
_SLOT_COUNT = 4


def _recall(values: object) -> tuple | None:
    """Return the structure kept for ``values`` (a list of tuples: equal content; else: itself)."""
    for key, structure in _SLOTS:
        if key is values:
            return structure
        if isinstance(values, list) and isinstance(key, list):
            # list equality compares the tuples item by item (identical objects at once)
            if len(key) == len(values) and key == values:
                return structure
    return None


def _keep(key: object, structure: tuple) -> None:
    others = [slot for slot in _SLOTS if slot[0] is not key]
    _SLOTS[:] = [(key, structure), *others[: _SLOT_COUNT - 1]]


def _tuples_of_strings(values: list, names) -> bool:
    """Whether a channel column is tuples of strings (immutable: its content can key a slot)."""
    return set(map(type, values)) <= {tuple} and set(map(type, names)) <= {str}


def remember_tuples(values: list, names: tuple, codes: np.ndarray, lengths: np.ndarray) -> None:
    """Keep the coding of a channel column a producer just made (no model codes it again).

    ``values`` is the column's list of channel tuples; ``names`` (sorted), ``codes`` and
    ``lengths`` must be what :func:`code_paths` computes for it (tested for every producer).
    Nothing is kept for a column that is not tuples of strings or whose lengths disagree.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if len(lengths) != len(values) or not _tuples_of_strings(values, names):
        return
    if not np.array_equal(np.fromiter(map(len, values), np.int64, len(values)), lengths):
        return
    _keep(values, (tuple(names), np.asarray(codes, dtype=np.int64), lengths))


def _structure_from_tuples(col: pd.Series) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names, codes and lengths of a column of channel tuples (C-level iteration only).

    The result is reused when a later column has equal content (list equality compares
    the tuples item by item; identical objects compare at once), so the models run one
    after the other on the same paths code them once; any edit of a path is seen.
    """
    values = col.tolist()
    kept = _recall(values)
    if kept is not None:
        return kept
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    flat = np.fromiter(chain.from_iterable(values), dtype=object, count=int(lengths.sum()))
    codes, names = pd.factorize(flat, sort=True)
    structure = (tuple(names.tolist()), codes.astype(np.int64), lengths)
    # Only tuples of strings are immutable, so only their content can key a slot.
    if _tuples_of_strings(values, structure[0]):
        _keep(values, structure)
    return structure


def _arrow(col: pd.Series):
    """Return the Arrow array of an Arrow-backed column (one chunk)."""
    import pyarrow as pa

    arr = pa.array(col.array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def arrow_structure(arr) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names (sorted), codes and lengths of an Arrow list array of channel names.

    The channels are dictionary-encoded in one hash pass and the (few) names sorted, so a
    code is a channel's rank. A missing list counts as empty; a missing channel is a
    :class:`~imclab.errors.DataError` naming the rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(arr)
    if pa.types.is_dictionary(flat.type):
        flat = flat.dictionary_decode()
    if flat.null_count:
        rows = np.repeat(np.arange(len(lengths)), lengths)[
            np.flatnonzero(flat.is_null().to_numpy(zero_copy_only=False))
        ]
        raise DataError(
            f"paths: 'channels' holds a missing channel in rows {sorted(set(rows.tolist()))[:10]}"
            "; drop or name those touches"
        )
    enc = flat.dictionary_encode()
    found = enc.dictionary.to_pylist()
    rank = np.empty(len(found), dtype=np.int64)
    rank[sorted(range(len(found)), key=found.__getitem__)] = np.arange(len(found))
    codes = rank[enc.indices.to_numpy(zero_copy_only=False)]
    return tuple(sorted(found)), codes, lengths.astype(np.int64)


def _structure_from_arrow(col: pd.Series) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Names, codes and lengths of an Arrow list column (no Python loop at all).

    Arrow arrays are immutable and an edit of the column replaces its array, so the result
    is reused while the column holds the very same array.
    """
    import pyarrow as pa

    held = col.array.__arrow_array__()
    kept = _recall(held)
    if kept is not None:
        return kept
    arr = held.combine_chunks() if isinstance(held, pa.ChunkedArray) else held
    structure = arrow_structure(arr)
    _keep(held, structure)
    return structure


def _flat_decay(paths: pd.DataFrame, lengths: np.ndarray, col: str) -> np.ndarray | None:
    """Per-touch decay weights of ``col``; zeros for paths that carry none."""
    if col not in paths.columns:
        return None
    if isinstance(paths[col].dtype, pd.ArrowDtype):
        import pyarrow.compute as pc

        arr = _arrow(paths[col])
        dlen = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(arr).to_numpy(zero_copy_only=False).astype(float)
    else:
        values = paths[col].tolist()
        dlen = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        flat = np.fromiter(chain.from_iterable(values), dtype=float, count=int(dlen.sum()))
    has = dlen == lengths
    if has.all():
        return flat
    # Non-converting paths have no decay weights: their touches get zero credit.
    out = np.zeros(int(lengths.sum()))
    out[np.repeat(has, lengths)] = flat[np.repeat(has & (dlen > 0), dlen)]
    return out


def code_paths(paths: pd.DataFrame | CodedPaths, *, decay: bool = False) -> CodedPaths:
    """Integer-code a paths table (or pass a :class:`CodedPaths` through).

    Parameters
    ----------
    paths
        Unique paths with ``channels`` (tuples, or an Arrow list column), ``conversions``,
        ``nulls`` and ``value`` (and ``decay``, ``decay_value`` for ``decay=True``).
    decay
        Also flatten the time-decay columns.

    Returns
    -------
    CodedPaths
    """
    if isinstance(paths, CodedPaths):
        return paths
    check_paths(paths)
    col = paths["channels"]
    if isinstance(col.dtype, pd.ArrowDtype):
        names, codes, lengths = _structure_from_arrow(col)
    else:
        names, codes, lengths = _structure_from_tuples(col)
    return CodedPaths(
        names=names,
        codes=codes,
        lengths=lengths,
        conversions=paths["conversions"].to_numpy(dtype=float),
        nulls=paths["nulls"].to_numpy(dtype=float),
        value=paths["value"].to_numpy(dtype=float),
        decay=_flat_decay(paths, lengths, "decay") if decay else None,
        decay_value=_flat_decay(paths, lengths, "decay_value") if decay else None,
    )


def no_touch(paths: pd.DataFrame | CodedPaths) -> tuple[float, float]:
    """Conversions and value of the ``(no touch)`` paths."""
    if isinstance(paths, CodedPaths):
        m = paths.lengths == 0
        return float(paths.conversions[m].sum()), float(paths.value[m].sum())
    m = paths["channels"].map(len) == 0
    return float(paths.loc[m, "conversions"].sum()), float(paths.loc[m, "value"].sum())


def tidy(
    conversions: pd.Series,
    value: pd.Series,
    model: str,
    paths: pd.DataFrame | CodedPaths,
    channels: list[str] | None = None,
) -> pd.DataFrame:
    """Assemble a model's credits into the tidy result frame.

    Channel rows first (sorted by channel id), then the ``(no touch)`` row. ``share`` is a
    channel's part of the touch-attributed conversions (channel shares sum to 1); the
    ``(no touch)`` row carries its conversions and value and no share (NaN): those
    conversions had no touch to credit and are never spread over channels.
    """
    names = sorted(set(conversions.index) | set(value.index) | set(channels or []))

    def aligned(credit: pd.Series) -> np.ndarray:  # by name, missing = 0, negative = 0
        if credit.index.tolist() != names:
            credit = credit.reindex(names, fill_value=0.0)
        return np.maximum(credit.to_numpy(dtype=float), 0.0)

    conv_a, val_a = aligned(conversions), aligned(value)
    total = np.nansum(conv_a)
    share_a = conv_a / total if total > 0 else conv_a * 0.0
    nt_conv, nt_val = no_touch(paths)
    if nt_conv > 0:
        names = [*names, NO_TOUCH]
        conv_a = np.append(conv_a, nt_conv)
        val_a = np.append(val_a, nt_val)
        share_a = np.append(share_a, np.nan)
    return pd.DataFrame(
        {"channel": names, "model": model, "conversions": conv_a, "value": val_a,
         "share": share_a}
    )  # fmt: skip
