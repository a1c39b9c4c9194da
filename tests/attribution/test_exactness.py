"""The fast models equal straightforward reference implementations (to 1e-12) on two worlds.

The references below are the plain definitions (a Python loop per path, one sparse LU per
removal), as the models were written before issue 15 made them vectorised; the models must
give the same numbers on the sample and on a simulated world of another seed, whichever
form the paths come in (tuples, Arrow list columns, integer codes).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import splu

import imclab.attribution as attr
from imclab.attribution import NO_TOUCH, build_journeys, code_paths, paths_from_strings
from imclab.attribution.markov import MAX_ITERATIONS
from imclab.data.load import load_world

TOL = {"rtol": 1e-12, "atol": 1e-12}


@pytest.fixture(scope="module", params=["sample", "seed7", "sample_cov"])
def paths(request, sample_dir, small_world) -> pd.DataFrame:
    folder = small_world if request.param == "seed7" else sample_dir
    w = load_world(folder, tables=["touchpoints", "conversions"])
    kw = {"interactions": ("click", "open", "visit")} if request.param.endswith("cov") else {}
    return build_journeys(None, w.tables["touchpoints"], w.tables["conversions"], **kw).paths


# -- references -----------------------------------------------------------------------------------


def _ref_heuristics(paths: pd.DataFrame, direct: str = "direct") -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, list[float]]] = {}
    w = (0.4, 0.2, 0.4)

    def add(model, ch, conv, val):
        slot = out.setdefault(model, {}).setdefault(ch, [0.0, 0.0])
        slot[0] += conv
        slot[1] += val

    for ch, c, v, dc, dv in zip(paths["channels"], paths["conversions"], paths["value"],
                                paths["decay"], paths["decay_value"], strict=True):  # fmt: skip
        n = len(ch)
        if n == 0:
            continue
        add("first_touch", ch[0], c, v)
        add("last_touch", ch[-1], c, v)
        nd = [i for i, x in enumerate(ch) if x != direct]
        k = nd[-1] if nd else n - 1
        add("last_non_direct", ch[k], c, v)
        for i, x in enumerate(ch):
            add("linear", x, c / n, v / n)
            if n == 1:
                pw = 1.0
            elif n == 2:
                pw = (w[0] if i == 0 else w[2]) / (w[0] + w[2])
            else:
                pw = w[0] if i == 0 else w[2] if i == n - 1 else w[1] / (n - 2)
            add("position_based", x, pw * c, pw * v)
            if len(dc) == n:
                add("time_decay", x, dc[i], dv[i])
    return out


def _ref_states(channels: tuple[str, ...], order: int) -> list[tuple[str, ...]]:
    if len(channels) <= order:
        states = [tuple(channels)]
    else:
        states = [tuple(channels[i : i + order]) for i in range(len(channels) - order + 1)]
    out = [states[0]]
    for s in states[1:]:
        if s != out[-1]:
            out.append(s)
    return out


def _ref_removal(paths: pd.DataFrame, order: int) -> tuple[list, pd.DataFrame]:
    """Removal effects by one sparse LU per removal; also the states in order of appearance."""
    index: dict[tuple, int] = {("(start)",): 0}
    frm, to, w = [], [], []
    n_states_conv: dict[int, list[float]] = {}
    for ch, c, nl, v in zip(paths["channels"], paths["conversions"], paths["nulls"],
                            paths["value"], strict=True):  # fmt: skip
        if not ch:
            continue
        prev = 0
        for s in _ref_states(ch, order):
            k = index.setdefault(s, len(index))
            frm.append(prev)
            to.append(k)
            w.append(c + nl)
            prev = k
        acc = n_states_conv.setdefault(prev, [0.0, 0.0, 0.0])
        acc[0] += c
        acc[1] += nl
        acc[2] += v
    n = len(index)
    counts = sp.csr_matrix((w, (frm, to)), shape=(n, n))
    conv, null, val = (np.zeros(n) for _ in range(3))
    for k, (c, nl, v) in n_states_conv.items():
        conv[k], null[k], val[k] = c, nl, v
    states = list(index)
    out = np.asarray(counts.sum(axis=1)).ravel() + conv + null
    safe = np.where(out > 0, out, 1.0)
    q = sp.diags(1.0 / safe) @ counts

    def solve(keep):
        qk = q[keep][:, keep]
        a = (sp.identity(qk.shape[0], format="csc") - qk.tocsc()).tocsc()
        x = splu(a).solve(np.column_stack([conv[keep] / safe[keep], val[keep] / safe[keep]]))
        return x[0, 0], x[0, 1]

    p, pv = solve(np.ones(n, dtype=bool))
    channels = sorted({c for s in states[1:] for c in s})
    rows = []
    for c in channels:
        keep = np.array([c not in s for s in states])
        keep[0] = True
        pc, vc = solve(keep)
        re_v = max(1 - vc / pv, 0.0) if pv > 0 else 0.0
        rows.append((c, max(1 - pc / p, 0.0), re_v, pc, p))
    cols = ["channel", "removal_effect", "removal_effect_value", "p_conversion_without",
            "p_conversion"]  # fmt: skip
    return states, pd.DataFrame(rows, columns=cols)


# -- the tests ------------------------------------------------------------------------------------


def _frames(paths: pd.DataFrame) -> dict[str, object]:
    """The same paths as tuples, as Arrow list columns and integer-coded."""
    arrow = paths_from_strings(
        paths["path"], paths["conversions"], paths["nulls"], paths["value"], as_arrow=True
    )
    import pyarrow as pa

    for col in ("decay", "decay_value"):  # the real (not equal-weight) decay arrays
        arr = pa.array([list(x) for x in paths[col]], pa.list_(pa.float64()))
        arrow[col] = pd.Series(arr, dtype=pd.ArrowDtype(arr.type))
    return {"tuples": paths, "arrow": arrow, "coded": code_paths(paths, decay=True)}


def test_heuristics_equal_the_reference(paths):
    ref = _ref_heuristics(paths)
    for form, p in _frames(paths).items():
        for model, fn in [("first_touch", attr.first_touch), ("last_touch", attr.last_touch),
                          ("last_non_direct", attr.last_non_direct), ("linear", attr.linear),
                          ("position_based", attr.position_based),
                          ("time_decay", attr.time_decay)]:  # fmt: skip
            res = fn(p).set_index("channel")
            chan = res.drop(index=NO_TOUCH, errors="ignore")
            exp = pd.DataFrame(ref[model], index=["conversions", "value"]).T
            exp = exp.reindex(chan.index, fill_value=0.0)
            np.testing.assert_allclose(chan["conversions"], exp["conversions"], **TOL,
                                       err_msg=f"{model} {form}")  # fmt: skip
            np.testing.assert_allclose(chan["value"], exp["value"], **TOL)
            nt = paths[paths["length"] == 0]
            if nt["conversions"].sum() > 0:
                assert res.loc[NO_TOUCH, "conversions"] == nt["conversions"].sum()


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_markov_equals_the_reference(paths, order):
    states, ref = _ref_removal(paths, order)
    forms = _frames(paths)
    for form, p in forms.items():
        got = attr.removal_effects(p, order)
        assert got["channel"].tolist() == ref["channel"].tolist()
        for col in ref.columns[1:]:
            np.testing.assert_allclose(got[col], ref[col], **TOL, err_msg=f"{col} {form}")
    tm = attr.transition_matrix(paths, order)
    assert tm.index.tolist() == ["(start)"] + [" > ".join(s) for s in states[1:]]
    res = attr.markov(forms["arrow"], order).set_index("channel")
    touched = paths["length"] > 0
    re = ref.set_index("channel")["removal_effect"]
    exp = re / re.sum() * paths.loc[touched, "conversions"].sum()
    np.testing.assert_allclose(res.loc[exp.index, "conversions"], exp, **TOL)


def test_markov_falls_back_to_lu_when_the_iteration_does_not_converge(monkeypatch):
    # A chain with a loop a <-> b that almost never leaves: the iteration needs far more steps
    p = paths_from_strings(
        ["a > b > a > b", "a", "b > a"], conversions=[1, 0, 0], nulls=[0, 1, 1e6]
    )
    fast = attr.removal_effects(p, 1)
    monkeypatch.setattr(sys.modules["imclab.attribution.markov"], "MAX_ITERATIONS", 1)
    slow = attr.removal_effects(p, 1)
    pd.testing.assert_frame_equal(fast, slow, rtol=1e-12)
    assert MAX_ITERATIONS > 1
    _, ref = _ref_removal(p, 1)
    np.testing.assert_allclose(slow["removal_effect"], ref["removal_effect"], **TOL)


def test_edited_paths_are_never_answered_from_a_stale_cache():
    # issue 19, point 6: an in-place edit of a middle row must change the answer
    paths = paths_from_strings(["A", "B > C", "D"], conversions=[1, 1, 1])
    lin = attr.linear(paths).set_index("channel")["conversions"]
    assert lin[["B", "C", "D"]].tolist() == [0.5, 0.5, 1.0]
    paths.at[1, "channels"] = ("D",)
    lin = attr.linear(paths).set_index("channel")["conversions"]
    fresh = attr.linear(paths.copy()).set_index("channel")["conversions"]
    assert lin.reindex(["B", "C", "D"], fill_value=0).tolist() == [0.0, 0.0, 2.0]
    pd.testing.assert_series_equal(lin, fresh)

    paths = paths_from_strings(["A", "B > C", "D"], conversions=[1, 1, 1])
    first = attr.first_touch(paths).set_index("channel")["conversions"]
    assert first[["B", "C"]].tolist() == [1.0, 0.0]
    paths.at[1, "channels"] = ("C", "B")
    first = attr.first_touch(paths).set_index("channel")["conversions"]
    assert first[["B", "C"]].tolist() == [0.0, 1.0]
    paths.loc[1, "conversions"] = 5  # counts are read afresh on every call
    assert attr.first_touch(paths).set_index("channel").loc["C", "conversions"] == 5
    assert attr.markov(paths).set_index("channel")["conversions"].sum() == pytest.approx(7)


def test_markov_equals_the_reference_on_short_repeating_and_alternating_paths():
    # windows shorter than the order, merged repeats, a <-> b loops and untouched paths
    strings = ["a", "a > a > a", "a > b > a > b > a", "b > a", "c > a > b > c > a > b", NO_TOUCH,
               "a > b", "c", "b > b > c > c > a", "a > b > c > d > a > b > c > d > e"]  # fmt: skip
    rng = np.random.default_rng(5)
    conv = rng.integers(0, 5, len(strings)).astype(float)
    paths = paths_from_strings(strings, conv, rng.integers(1, 9, len(strings)), conv * 10)
    for order in (1, 2, 3, 4):
        states, ref = _ref_removal(paths, order)
        for form, p in _frames(paths).items():
            got = attr.removal_effects(p, order)
            for col in ref.columns[1:]:
                np.testing.assert_allclose(got[col], ref[col], **TOL, err_msg=f"{order} {form}")
            labels = attr.transition_matrix(p, order).index.tolist()
            assert labels == ["(start)"] + [" > ".join(s) for s in states[1:]], (order, form)


def test_paths_from_strings_splits_every_spelling_as_defined():
    # the definition: split at ">", strip each channel; the fast paths (split at " > " and
    # checked by byte scans) must agree, as tuples and as Arrow lists
    cases = ["a > b", NO_TOUCH, "a>b", "a  > b", "a >  b", " a > b", "a > b ", "a\t > b",
             "a\u00a0 > b", "caf\u00e9 > b", "a > > b", "a > ", "", "a >> b", "\u00a0a > b",
             "\u00e9 > \u00fc > a", "a\u3000", "a\x0b > b", "a\r", "\na > b", "a\n > b",
             "a\nb > c", "a > \x1cb", "x\x85 > y", "a~ > \x7fb", " > "]  # fmt: skip
    plain = ["a > b", NO_TOUCH, "caf\u00e9 > b", "x", NO_TOUCH, "a~ > b"]
    for strings in [[c] for c in cases] + [cases, plain]:
        want = [() if s == NO_TOUCH else tuple(x.strip() for x in s.split(">")) for s in strings]
        for as_arrow in (False, True):
            got = paths_from_strings(strings, [1] * len(strings), as_arrow=as_arrow)
            assert [tuple(x) for x in got["channels"]] == want, (strings, as_arrow)
            assert got["length"].tolist() == [len(w) for w in want]
            assert got["path"].tolist() == [" > ".join(w) if w else NO_TOUCH for w in want]


def test_odd_bytes_found_in_any_block():
    # the scan reads blocks of `step` bytes: an odd byte in any block, at any offset, is found
    from imclab.attribution.journeys import _odd_bytes

    plain = np.frombuffer(b"paid_search" * 7, dtype=np.uint8)  # 77 bytes, 10 blocks of 8
    assert not _odd_bytes(plain, step=8)
    for odd in (b">", b" ", b"\x00", b"\x7f", b"\xc3"):
        for at in (0, 7, 8, 40, 76):
            data = plain.copy()
            data[at] = odd[0]
            assert _odd_bytes(data, step=8), (odd, at)


def test_arrow_paths_recoded_after_an_edit_and_missing_values_named():
    import pyarrow as pa

    from imclab.errors import DataError

    paths = paths_from_strings(["A", "B > C", "D"], conversions=[1, 1, 1], as_arrow=True)
    assert attr.linear(paths).set_index("channel").loc["B", "conversions"] == 0.5
    paths["channels"].array[1] = pa.scalar(["D"], pa.list_(pa.string()))  # a new Arrow array
    lin = attr.linear(paths).set_index("channel")["conversions"]
    assert lin.reindex(["B", "D"], fill_value=0).tolist() == [0.0, 2.0]
    holes = pa.array([["A"], ["B", None]], pa.list_(pa.string()))
    bad = paths.iloc[:2].assign(channels=pd.Series(holes, dtype=pd.ArrowDtype(holes.type)))
    with pytest.raises(DataError, match=r"missing channel in rows \[1\]"):
        attr.markov(bad)
    with pytest.raises(DataError, match=r"no path string in rows \[1\]"):
        paths_from_strings(["A", None], [1, 1], as_arrow=True)


def _kept_equals_own_coding(frame: pd.DataFrame) -> None:
    """The coding a producer kept for ``frame`` is the one the models compute themselves."""
    from imclab.attribution import _common

    values = frame["channels"].tolist()
    kept = _common._recall(values)
    assert kept is not None  # the producer did keep it (else the models pay the coding)
    _common._SLOTS.clear()
    own = code_paths(frame)
    assert kept[0] == own.names
    np.testing.assert_array_equal(kept[1], own.codes)
    np.testing.assert_array_equal(kept[2], own.lengths)
    assert kept[1].dtype == own.codes.dtype and kept[2].dtype == own.lengths.dtype


@pytest.mark.parametrize("world", ["sample", "seed7"])
def test_producers_keep_the_coding_the_models_compute(world, sample_dir, small_world):
    # build_journeys, paths_from_strings and drop_navigational code their tuples columnar
    # (Arrow, or from the input's codes) so that no model hashes every channel string again
    folder = small_world if world == "seed7" else sample_dir
    w = load_world(folder, tables=["touchpoints", "conversions"])
    tp, cv = w.tables["touchpoints"], w.tables["conversions"]
    for kw in (
        {},
        {"collapse_repeats": True, "channel_groups": {"paid_search": "search", "seo": "search"}},
    ):
        j = build_journeys(None, tp, cv, **kw)
        _kept_equals_own_coding(j.paths)
        for nav in (["direct"], ["direct", "search", "edm"], []):
            out = attr.drop_navigational(j.paths, nav, collapse_repeats=bool(kw)).paths
            _kept_equals_own_coding(out)
            ref = attr.drop_navigational(j.paths.copy(), nav, collapse_repeats=bool(kw)).paths
            pd.testing.assert_frame_equal(out, ref)
        strings = paths_from_strings(j.paths["path"].tolist(), j.paths["conversions"])
        _kept_equals_own_coding(strings)
    ids = tp[["customer_id"]].drop_duplicates()
    segments = ids.assign(segment=np.where(np.arange(len(ids)) % 3 == 0, "a", "b"))
    by_segment = build_journeys(None, tp, cv, segments=segments).paths
    _kept_equals_own_coding(by_segment)
    _kept_equals_own_coding(
        attr.drop_navigational(by_segment, ["direct"], collapse_repeats=False).paths
    )


def test_arrow_paths_from_a_sliced_array_equal_those_from_a_list():
    # an Arrow input that starts inside its buffers (a slice) takes the other way of cutting
    # the "(no touch)" channels out; both give the same table
    import pyarrow as pa

    strings = ["a > b", NO_TOUCH, "c", "a>b", NO_TOUCH, "b > c > a", "d"]
    for sub in (strings, [s for s in strings if s != "a>b"]):
        conv = list(range(1, len(sub) + 1))
        want = paths_from_strings(sub, conv, as_arrow=True)
        sliced = pa.array(["z > z", *sub], pa.string()).slice(1)
        assert sliced.offset == 1
        got = paths_from_strings(sliced, conv, as_arrow=True)
        pd.testing.assert_frame_equal(got, want)
        assert [tuple(x) for x in got["channels"]] == [
            () if s == NO_TOUCH else tuple(x.strip() for x in s.split(">")) for s in sub
        ]


def test_kept_coding_of_any_spelling_equals_the_models_own():
    # build_journeys keeps the coding of str.split(" > ") of its path strings, whatever they
    # hold (Arrow's split at " > " must cut exactly where Python's does)
    from imclab.attribution import _common
    from imclab.attribution.journeys import _remember_coding

    cases = ["a > b", NO_TOUCH, "a>b", "a  > b", "a >  b", " a > b", "a > b ", "a > > b", "",
             "a > ", " > ", "a >  > b", "a > > > b", "\u00e9 > \u00fc > a", "a\t > b",
             "x > x > x"]  # fmt: skip
    channels = [() if s == NO_TOUCH else tuple(s.split(" > ")) for s in cases]
    frame = pd.DataFrame({"channels": pd.Series(channels, dtype=object)})
    _common._SLOTS.clear()
    _remember_coding(channels, cases)
    kept = _common._recall(frame["channels"].tolist())
    assert kept is not None
    _common._SLOTS.clear()
    names, codes, lengths = _common._structure_from_tuples(frame["channels"])
    assert kept[0] == names
    np.testing.assert_array_equal(kept[1], codes)
    np.testing.assert_array_equal(kept[2], lengths)
