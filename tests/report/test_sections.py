"""The one-sentence notes of skipped report sections."""

from __future__ import annotations

import pytest

from imclab.errors import ParameterError
from imclab.report.sections import MISSING, skipped


def test_each_reason_is_one_sentence_saying_what_to_add():
    for reason, sentence in MISSING.items():
        text = sentence.format(campaign="c", start="s", end="e")
        assert text.count(". ") == 0 and text.endswith("."), reason  # one sentence
        assert "skipped" in text and ("add" in text or "list" in text), reason


def test_skipped_fills_the_campaign_and_names_unknown_reasons():
    note = skipped("campaign_rows", campaign="autumn", start="2025-09-01", end="2025-11-23")
    assert note.data.startswith("**Skipped.** The data has no spend or orders of campaign")
    assert "'autumn' between 2025-09-01 and 2025-11-23" in note.data
    with pytest.raises(ParameterError, match="unknown reason 'surveys'; reasons: survey"):
        skipped("surveys")
