"""Input checks the model server runs on every request: named problems, cheap conversions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlpipex.errors import Invalid
from mlpipex.flavors.signature import ColumnSpec, Signature, infer_signature, validate_input

FRAME = pd.DataFrame({"amount": [1.5, 2.0], "country": ["DE", "FR"], "n": [1, 2]})


def test_inferred_from_a_dataframe_keeps_names_and_types():
    sig = infer_signature(FRAME, output=np.array([0, 1]))
    assert [(c.name, c.type) for c in sig.inputs] == [
        ("amount", "double"),
        ("country", "string"),
        ("n", "long"),
    ]
    assert [(c.name, c.type) for c in sig.outputs or ()] == [(None, "long")]
    assert Signature.from_dict(sig.to_dict()) == sig


def test_inferred_from_an_array_names_columns_by_index():
    sig = infer_signature(np.zeros((3, 12), dtype="float32"))
    assert sig.format == "ndarray"
    assert sig.names == [str(i) for i in range(12)]
    assert {c.type for c in sig.inputs} == {"float"}


def test_records_and_rows_become_the_signature_columns_in_order():
    sig = infer_signature(FRAME)
    records = [{"n": 3, "country": "IT", "amount": 9.0, "extra": "ignored"}]
    out = validate_input(sig, records)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["amount", "country", "n"]
    assert out.iloc[0].tolist() == [9.0, "IT", 3]
    rows = validate_input(sig, [[9.0, "IT", 3]])
    assert isinstance(rows, pd.DataFrame) and rows.iloc[0].tolist() == [9.0, "IT", 3]


def test_missing_column_is_named():
    with pytest.raises(Invalid, match='missing column "country"'):
        validate_input(infer_signature(FRAME), FRAME.drop(columns="country"))


def test_wrong_width_says_expected_and_got():
    sig = infer_signature(np.zeros((1, 12)))
    with pytest.raises(Invalid, match="wrong number of columns: expected 12 got 11"):
        validate_input(sig, np.zeros((4, 11)))
    with pytest.raises(Invalid, match="expected 12 got 11"):
        validate_input(sig, [[0.0] * 11])


def test_non_numeric_column_is_named():
    with pytest.raises(Invalid, match='column "amount" is not numeric'):
        validate_input(infer_signature(FRAME), FRAME.assign(amount=["a", "b"]))


def test_optional_columns_may_be_absent():
    sig = Signature((ColumnSpec("a", "double"), ColumnSpec("b", "double", required=False)))
    out = validate_input(sig, [{"a": 1.0}])
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["a"]


def test_array_models_get_an_array_of_their_dtype():
    sig = infer_signature(np.zeros((1, 3), dtype="float32"))
    out = validate_input(sig, np.arange(6, dtype="int64").reshape(2, 3))
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (2, 3)
    one_row = validate_input(sig, [0.5, 1.5, 2.5])
    assert isinstance(one_row, np.ndarray) and one_row.shape == (1, 3)
    from_frame = validate_input(sig, pd.DataFrame({"0": [1.0], "1": [2.0], "2": [3.0]}))
    assert isinstance(from_frame, np.ndarray) and from_frame.tolist() == [[1.0, 2.0, 3.0]]


def test_unreadable_input_is_refused():
    with pytest.raises(Invalid, match="cannot read model input"):
        validate_input(infer_signature(FRAME), 42)
    with pytest.raises(Invalid, match="no rows"):
        validate_input(infer_signature(FRAME), [])


def test_integer_models_are_not_handed_truncated_values():
    sig = infer_signature(np.array([[1, 2]], dtype="int64"))
    out = validate_input(sig, np.array([[1.5, np.nan]]))
    assert isinstance(out, np.ndarray) and out.tolist()[0][0] == 1.5
    named = infer_signature(pd.DataFrame({"n": [1]}))
    assert validate_input(named, [{"n": 2.5}])["n"].tolist() == [2.5]
