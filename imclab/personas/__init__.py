"""Persona clustering: customer features (SQL), the ``Personas`` estimator and persona cards."""

from imclab.personas.cards import (
    match_target_personas,
    persona_cards,
    persona_labels,
    persona_name,
    persona_profiles,
)
from imclab.personas.features import FEATURE_GROUPS, derive_features, feature_sql
from imclab.personas.model import Personas, build_preprocessor
from imclab.personas.stability import bootstrap_stability

__all__ = [
    "FEATURE_GROUPS",
    "Personas",
    "bootstrap_stability",
    "build_preprocessor",
    "derive_features",
    "feature_sql",
    "match_target_personas",
    "persona_cards",
    "persona_labels",
    "persona_name",
    "persona_profiles",
]
