"""Brand consistency: how close each channel's creative copy stays to the message house.

TF-IDF on character n-grams within word boundaries (``analyzer="char_wb"``, 2-4 characters),
so Chinese copy, which has no spaces between words, is compared as well as English.

Public functions
----------------
- :func:`message_references` (message house -> reference texts per language)
- :func:`creative_similarity` (one row per creative: similarity to the core message, to each
  pillar, ``score``, ``on_message``)
- :func:`channel_consistency` (one row per channel: max/mean score, ``off_message`` flag)
- :func:`message_consistency` (both tables in one :class:`ConsistencyResult`)
- :data:`DEFAULT_THRESHOLD`
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from imclab.errors import DataError, ParameterError
from imclab.review.experiments import ReviewWarning

__all__ = [
    "DEFAULT_THRESHOLD",
    "ConsistencyResult",
    "channel_consistency",
    "creative_similarity",
    "message_consistency",
    "message_references",
]

DEFAULT_THRESHOLD = 0.25
"""A creative whose best cosine similarity to the core message or a pillar is below this is
off-message. On-message copy that restates a pillar scores about 0.4-0.8 with character
2-4-grams; unrelated copy (a discount shout) about 0.05-0.15."""

_COLUMNS = ["creative_id", "channel", "language", "reference_language", "core_message"]


def _plain(message_house: Any) -> dict:
    """Accept the plan's pydantic ``MessageHouse`` or a plain mapping."""
    if hasattr(message_house, "model_dump"):
        return message_house.model_dump()
    if isinstance(message_house, Mapping):
        return dict(message_house)
    raise ParameterError(
        "message_house: expected the plan's message_house (or a mapping with core_message and "
        f"pillars), got {type(message_house).__name__}"
    )


def message_references(message_house: Any) -> dict[str, dict[str, Any]]:
    """Return the reference texts per language: ``{"en": {"core_message", "pillars"}, ...}``.

    The plan's own language is ``"en"``; each entry of ``translations`` (e.g. ``zh``) adds its
    language. A translation without pillars reuses none (only its core message is compared).
    """
    house = _plain(message_house)
    if not house.get("core_message"):
        raise ParameterError("message_house.core_message: required to score consistency")
    refs = {
        "en": {"core_message": house["core_message"], "pillars": list(house.get("pillars") or [])}
    }
    for lang, tr in (house.get("translations") or {}).items():
        tr = _plain(tr)
        refs[lang] = {"core_message": tr["core_message"], "pillars": list(tr.get("pillars") or [])}
    return refs


def creative_similarity(
    creatives: pd.DataFrame,
    message_house: Any,
    threshold: float = DEFAULT_THRESHOLD,
    ngram_range: tuple[int, int] = (2, 4),
) -> pd.DataFrame:
    """Cosine similarity of every creative to the core message and each pillar of its language.

    Parameters
    ----------
    creatives
        The creatives table (``creative_id``, ``channel``, ``language``, ``text``).
    message_house
        ``plan.message_house`` (or a mapping with ``core_message``, ``pillars`` and optional
        ``translations``). A creative in a language the message house has no translation for
        is compared with the English references (and ``reference_language`` says so).
    threshold
        Creatives whose ``score`` is below it get ``on_message = False``.
    ngram_range
        Character n-gram lengths of the TF-IDF vocabulary.

    Returns
    -------
    pandas.DataFrame
        ``creative_id``, ``channel``, ``language``, ``reference_language``, ``core_message``
        (similarity to it), ``pillar_1`` ... ``pillar_k``, ``pillar_mean``, ``score`` (the
        best of core message and pillars) and ``on_message``; sorted by channel, creative.
        An empty creatives table gives an empty frame and a :class:`ReviewWarning`.
    """
    if not 0 < threshold < 1:
        raise ParameterError(f"threshold must be between 0 and 1, got {threshold}")
    refs = message_references(message_house)
    n_pillars = max(len(r["pillars"]) for r in refs.values())
    pillar_cols = [f"pillar_{i + 1}" for i in range(n_pillars)]
    columns = [*_COLUMNS, *pillar_cols, "pillar_mean", "score", "on_message"]
    missing = [c for c in ("creative_id", "channel", "language", "text") if c not in creatives]
    if missing:
        raise DataError(f"creatives: missing column(s) {', '.join(missing)}")
    if creatives.empty:
        warnings.warn(
            "creatives: the table is empty; message consistency cannot be scored",
            ReviewWarning,
            stacklevel=2,
        )
        return pd.DataFrame(columns=columns)
    blank = creatives["text"].isna() | (creatives["text"].astype(str).str.strip() == "")
    if blank.any():
        rows = ", ".join(str(i + 2) for i in np.flatnonzero(blank)[:5])  # CSV line numbers
        raise DataError(
            f"creatives: column 'text' is empty in row(s) {rows} ({int(blank.sum())} rows); "
            "every creative needs its copy"
        )
    ref_texts = [t for r in refs.values() for t in (r["core_message"], *r["pillars"])]
    vectorizer = TfidfVectorizer(
        analyzer="char_wb", ngram_range=ngram_range, lowercase=True, sublinear_tf=True
    )
    vectorizer.fit([*ref_texts, *creatives["text"].astype(str)])
    rows = []
    fallback = 0
    for row in creatives.sort_values(["channel", "creative_id"], kind="stable").itertuples():
        lang = row.language if row.language in refs else "en"
        fallback += lang != row.language
        ref = refs[lang]
        sims = cosine_similarity(
            vectorizer.transform([str(row.text)]),
            vectorizer.transform([ref["core_message"], *ref["pillars"]]),
        )[0]
        pillars = list(sims[1:]) + [np.nan] * (n_pillars - len(ref["pillars"]))
        rows.append(
            [row.creative_id, row.channel, row.language, lang, sims[0], *pillars,
             float(np.nanmean(sims[1:])) if len(sims) > 1 else np.nan, float(sims.max())]
        )  # fmt: skip
    out = pd.DataFrame(rows, columns=columns[:-1])
    out["on_message"] = out["score"] >= threshold
    if fallback:
        warnings.warn(
            f"creatives: {fallback} creative(s) in a language without a message-house "
            "translation were compared with the English message",
            ReviewWarning,
            stacklevel=2,
        )
    return out


def channel_consistency(
    similarity: pd.DataFrame, threshold: float = DEFAULT_THRESHOLD
) -> pd.DataFrame:
    """Per channel: creatives, max and mean score, and the off-message flag.

    A channel is off-message when its mean creative score is below ``threshold`` (one
    on-message creative does not excuse the rest of the copy the channel ran).

    Returns
    -------
    pandas.DataFrame
        ``channel``, ``creatives``, ``max_score``, ``mean_score``, ``off_creatives`` (how many
        creatives are below the threshold), ``off_message``; sorted by ``mean_score``.
    """
    cols = ["channel", "creatives", "max_score", "mean_score", "off_creatives", "off_message"]
    if similarity.empty:
        return pd.DataFrame(columns=cols)
    out = (
        similarity.groupby("channel", sort=True)
        .agg(
            creatives=("score", "size"),
            max_score=("score", "max"),
            mean_score=("score", "mean"),
            off_creatives=("score", lambda s: int((s < threshold).sum())),
        )
        .reset_index()
    )
    out["off_message"] = out["mean_score"] < threshold
    return out[cols].sort_values(["mean_score", "channel"], ignore_index=True)


@dataclass
class ConsistencyResult:
    """Creative- and channel-level message consistency.

    Attributes
    ----------
    creatives
        :func:`creative_similarity` table.
    channels
        :func:`channel_consistency` table.
    threshold
        The threshold used.
    warnings
        Messages about input the result works around (empty table, missing translation).
    """

    creatives: pd.DataFrame
    channels: pd.DataFrame
    threshold: float
    warnings: list[str] = field(default_factory=list)

    @property
    def off_message_channels(self) -> list[str]:
        """Channels flagged off-message, sorted."""
        return sorted(self.channels.loc[self.channels["off_message"].astype(bool), "channel"])


def message_consistency(
    creatives: pd.DataFrame,
    message_house: Any,
    threshold: float = DEFAULT_THRESHOLD,
    ngram_range: tuple[int, int] = (2, 4),
) -> ConsistencyResult:
    """Score every creative and channel against the message house (see the two functions).

    Warnings issued on the way (:class:`ReviewWarning`) are re-issued and kept in
    :attr:`ConsistencyResult.warnings` for the report.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReviewWarning)
        sim = creative_similarity(creatives, message_house, threshold, ngram_range)
    messages = [str(w.message) for w in caught if issubclass(w.category, ReviewWarning)]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return ConsistencyResult(sim, channel_consistency(sim, threshold), threshold, messages)
