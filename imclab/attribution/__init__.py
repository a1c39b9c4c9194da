"""Multi-touch channel attribution.

Journeys are built in the database; heuristic, Markov and Shapley models run on the unique
paths, are scored against ground truth and joined to spend.
"""

from imclab.attribution._common import CodedPaths, code_paths
from imclab.attribution.costs import cost_per_channel, spend_by_channel
from imclab.attribution.evaluate import (
    HEURISTICS,
    bootstrap_shares,
    by_segment,
    compare_with_truth,
    run_models,
    score_models,
    true_shares,
)
from imclab.attribution.hazard import (
    AdditiveHazard,
    build_panel,
    heldout_loglik,
    touched_window_conversions,
)
from imclab.attribution.heuristics import (
    first_touch,
    last_non_direct,
    last_touch,
    linear,
    position_based,
    time_decay,
)
from imclab.attribution.journeys import (
    NO_TOUCH,
    Journeys,
    build_journeys,
    path_length_distribution,
    paths_from_strings,
    top_paths,
)
from imclab.attribution.markov import markov, removal_effects, transition_matrix
from imclab.attribution.navigational import drop_navigational, shares_before_after
from imclab.attribution.recommendation import (
    assess,
    check_recommendation,
    evidence_table,
    mmm_comparison,
    read_mmm,
    recommend,
)
from imclab.attribution.shapley import MAX_CHANNELS, ordered_shapley, shapley

__all__ = [
    "AdditiveHazard",
    "assess",
    "build_panel",
    "check_recommendation",
    "drop_navigational",
    "evidence_table",
    "heldout_loglik",
    "mmm_comparison",
    "read_mmm",
    "recommend",
    "shares_before_after",
    "touched_window_conversions",
    "HEURISTICS",
    "CodedPaths",
    "MAX_CHANNELS",
    "NO_TOUCH",
    "Journeys",
    "bootstrap_shares",
    "build_journeys",
    "by_segment",
    "code_paths",
    "compare_with_truth",
    "cost_per_channel",
    "first_touch",
    "last_non_direct",
    "last_touch",
    "linear",
    "markov",
    "ordered_shapley",
    "path_length_distribution",
    "paths_from_strings",
    "position_based",
    "removal_effects",
    "run_models",
    "score_models",
    "shapley",
    "spend_by_channel",
    "time_decay",
    "top_paths",
    "transition_matrix",
    "true_shares",
]
