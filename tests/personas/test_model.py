"""Tests of the Personas estimator: ground truth, scikit-learn conventions, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from imclab.errors import DataError, ParameterError
from imclab.personas import Personas
from imclab.personas.model import MIN_PER_CLUSTER, build_preprocessor
from imclab.simulate import load_truth

FAST = {"k": 3, "n_bootstrap": 2, "compare_methods": (), "sample_size": 600}


def _recovery(model, features, folder) -> float:
    truth = load_truth(folder)["personas"]
    true = features[["customer_id"]].merge(truth, on="customer_id", how="left")
    assert true["persona"].notna().all()
    return adjusted_rand_score(true["persona"], model.labels_)


def test_recovers_true_personas_on_sample_world(sample_model, sample_features, sample_dir):
    assert sample_model.k_ == 5  # the simulator's five personas, chosen by stability
    assert "the largest number of personas that all reproduce" in sample_model.choice_reason_
    assert _recovery(sample_model, sample_features, sample_dir) >= 0.85


@pytest.mark.slow
def test_recovers_true_personas_on_an_unseen_world(seed99_world, seed99_features):
    """Seed 99 with 10,000 customers: KMeans chose k=6 here (ARI 0.79)."""
    model = Personas().fit(seed99_features)
    assert model.k_ == 5
    assert _recovery(model, seed99_features, seed99_world) >= 0.85
    sel = model.selection_.set_index(["method", "k"]).loc["gmm"]
    assert sel.loc[5, "min_jaccard"] >= 0.85 > sel.loc[6:, "min_jaccard"].max()


def test_fitted_attributes_follow_sklearn(sample_model, sample_features):
    m = sample_model
    assert m.n_features_in_ == sample_features.shape[1]
    assert list(m.feature_names_in_) == list(sample_features.columns)
    assert m.labels_.shape == (len(sample_features),)
    assert sorted(np.unique(m.labels_)) == list(range(m.k_))
    sizes = np.bincount(m.labels_)
    assert all(sizes[:-1] >= sizes[1:])  # persona 0 is the largest
    # selection table: every method x k, BIC only for the mixture
    sel = m.selection_
    assert set(sel["method"]) == {"kmeans", "gmm", "agglomerative"}
    assert sel.groupby("method")["k"].apply(list).map(lambda ks: ks == list(range(2, 9))).all()
    assert sel.loc[sel["method"] == "gmm", "bic"].notna().all()
    assert sel.loc[sel["method"] != "gmm", "bic"].isna().all()
    assert sel.loc[sel["method"] == "gmm", ["stability", "min_jaccard"]].notna().all().all()
    assert sel.loc[sel["method"] != "gmm", "stability"].isna().all()
    assert len(m.stability_) == m.k_ and (m.stability_["jaccard_mean"] <= 1).all()


def test_predict_assigns_new_customers(sample_model, sample_features):
    new = sample_features.iloc[::7].reset_index(drop=True)
    np.testing.assert_array_equal(sample_model.predict(new), sample_model.labels_[::7])
    with pytest.raises(DataError, match="missing column"):
        sample_model.predict(new.drop(columns="age"))


def test_params_only_in_init_and_deterministic(small_features):
    est = Personas(**FAST, random_state=3)
    assert not hasattr(est, "labels_")
    assert clone(est).get_params() == est.get_params()
    a = est.fit(small_features)
    assert a is est
    b = Personas(**FAST, random_state=3).fit(small_features)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.choice_reason_ == "k=3 set by the analyst (override)"


@pytest.mark.parametrize("method", ["minibatch", "gmm", "agglomerative"])
def test_every_method_gives_k_personas(small_features, method):
    m = Personas(**FAST, method=method).fit(small_features)
    assert sorted(np.unique(m.labels_)) == [0, 1, 2]
    assert set(np.unique(m.predict(small_features.head(50)))) <= {0, 1, 2}


def test_constant_and_all_missing_columns_are_dropped_with_a_note(small_features):
    X = small_features.assign(aov=np.nan, discount_usage_rate=0.25)
    m = Personas(**FAST).fit(X)
    assert m.dropped_columns_ == ["discount_usage_rate", "aov"]
    assert any("'aov': all 1200 values missing; dropped" in n for n in m.notes_)
    assert any("'discount_usage_rate': constant" in n for n in m.notes_)
    assert "aov" not in m.feature_groups_["value"]


def test_too_few_customers_for_k_is_a_clear_error(small_features):
    few = small_features.head(30)
    with pytest.raises(
        ParameterError, match=r"too few customers for k=8: found 30, need at least 80"
    ):
        Personas().fit(few)
    assert MIN_PER_CLUSTER == 10


def test_high_cardinality_categorical_is_pooled(small_features):
    rng = np.random.default_rng(0)
    X = small_features.assign(
        postcode=[f"P{v:04d}" for v in rng.integers(0, 3000, len(small_features))]
    )
    n_levels = X["postcode"].nunique()
    assert n_levels > 500
    pre, used, dropped, notes = build_preprocessor(X, max_levels=20)
    assert "postcode" in used["demographics"] and not dropped
    assert any(f"'postcode': {n_levels} levels; kept the 19 most frequent" in n for n in notes)
    Z = pre.fit_transform(X)
    names = pre.get_feature_names_out()
    assert sum("postcode" in n for n in names) == 20  # 19 levels + "infrequent"
    assert Z.shape[1] == len(names) < 80


def test_bad_parameters_are_named(small_features):
    with pytest.raises(ParameterError, match="method 'dbscan' is not one of"):
        Personas(method="dbscan").fit(small_features)
    with pytest.raises(ParameterError, match="k_range must be"):
        Personas(k_range=(5, 3)).fit(small_features)
    with pytest.raises(ParameterError, match="expects a pandas DataFrame"):
        Personas().fit(small_features.to_numpy())
    with pytest.raises(ParameterError, match="unknown feature group"):
        Personas(groups=("profile", "hobbies"), **FAST).fit(small_features)


def test_projection_has_two_components(sample_model, sample_features):
    proj = sample_model.projection(sample_features, sample_model.labels_)
    assert list(proj.columns) == ["pc1", "pc2", "persona"]
    ratio = proj.attrs["explained_variance_ratio"]
    assert ratio[0] >= ratio[1] > 0
    assert abs(proj["pc1"].mean()) < 1e-8
    pd.testing.assert_series_equal(proj["persona"], pd.Series(sample_model.labels_, name="persona"))
