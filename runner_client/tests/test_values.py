import json
import math

import pytest

from nodeworks_runner import values


def roundtrip(value):
    return values.decode(json.loads(json.dumps(values.encode(value), allow_nan=False)))


def test_plain_json_values_pass_unchanged():
    for value in (None, True, 3, -2.5, "x", [1, "a", None], {"a": [1, {"b": 2}]}):
        assert values.encode(value) == value
        assert roundtrip(value) == value


def test_non_finite_floats_are_tagged():
    assert values.encode(float("nan")) == {"$nw": "float", "v": "NaN"}
    assert values.encode(float("inf")) == {"$nw": "float", "v": "Infinity"}
    assert values.encode([float("-inf")]) == [{"$nw": "float", "v": "-Infinity"}]
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip({"a": float("-inf")}) == {"a": float("-inf")}


def test_tuples_and_sets_become_lists_and_unknown_objects_their_repr():
    assert values.encode((1, 2)) == [1, 2]

    class Thing:
        def __repr__(self):
            return "<thing>"

    assert values.encode(Thing()) == "<thing>"


def test_ndarrays_roundtrip_exactly():
    np = pytest.importorskip("numpy")
    for array in (np.arange(0.0, 10.0, 0.1), np.arange(12, dtype=np.int32).reshape(3, 4), np.array(2.5),
                  np.array([True, False]), np.zeros((0, 3)), np.array([1 + 2j])):
        encoded = values.encode(array)
        assert encoded["$nw"] == "ndarray"
        assert encoded["shape"] == list(array.shape)
        back = roundtrip(array)
        assert back.dtype == array.dtype and back.shape == array.shape
        assert np.array_equal(back, array)


def test_fortran_order_and_numpy_scalars():
    np = pytest.importorskip("numpy")
    array = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    assert np.array_equal(roundtrip(array), array)
    assert values.encode(np.float64(1.5)) == 1.5
    assert values.encode(np.int64(3)) == 3
    assert values.encode(np.float64("nan")) == {"$nw": "float", "v": "NaN"}


def test_ndarray_decodes_to_lists_without_numpy():
    import base64
    import struct

    raw = struct.pack("<6d", *range(6))
    tagged = {"$nw": "ndarray", "dtype": "<f8", "shape": [2, 3], "data": base64.b64encode(raw).decode()}
    assert values._decode_ndarray_without_numpy(raw, "<f8", [2, 3]) == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    with pytest.raises(ValueError, match="without numpy"):
        values._decode_ndarray_without_numpy(b"", "<U3", [0])
    assert tagged["shape"] == [2, 3]


def test_large_arrays_spill_to_artifact_placeholders(tmp_path):
    np = pytest.importorskip("numpy")
    spilled = []

    def spill(array):
        path = tmp_path / "big.npy"
        np.save(str(path), array)
        spilled.append(path)
        return {"$nw": "artifact", "path": str(path), "kind": "ndarray"}

    small, big = np.zeros(4), np.zeros(1000)
    encoded = values.encode({"s": small, "b": big}, spill=spill, inline_limit=100)
    assert encoded["s"]["$nw"] == "ndarray"
    assert encoded["b"] == {"$nw": "artifact", "path": str(tmp_path / "big.npy"), "kind": "ndarray"}
    assert list(values.artifact_placeholders(encoded)) == [encoded["b"]]
    # After upload it is a reference; a downloaded ndarray artifact decodes to the array.
    reference = {"$nw": "artifact", "id": "abc", "kind": "ndarray", "path": str(spilled[0])}
    assert list(values.artifact_references([reference])) == [reference]
    assert np.array_equal(values.decode(reference), big)


def test_file_artifacts_decode_to_path_like_objects(tmp_path):
    import os

    path = tmp_path / "plot.png"
    path.write_bytes(b"png")
    decoded = values.decode({"$nw": "artifact", "id": "a1", "name": "plot.png", "path": str(path)})
    assert isinstance(decoded, values.ArtifactFile)
    assert os.fspath(decoded) == str(path) and decoded.id == "a1" and decoded.read_bytes() == b"png"
    assert values.encode(decoded) == {"$nw": "artifact", "id": "a1", "name": "plot.png"}
    with pytest.raises(FileNotFoundError):
        os.fspath(values.decode({"$nw": "artifact", "id": "a2"}))


def test_unknown_float_tag_is_an_error():
    with pytest.raises(ValueError):
        values.decode({"$nw": "float", "v": "huge"})


@pytest.mark.parametrize(
    "value, dtype, expected",
    [
        ("0.0", "<class 'float'>", 0.0),
        (3, "<class 'float'>", 3.0),
        ("7", "<class 'int'>", 7),
        ("7.0", "<class 'int'>", 7),
        (7.9, "<class 'int'>", 7),
        (5, "<class 'str'>", "5"),
        ("false", "<class 'bool'>", False),
        (1, "<class 'bool'>", True),
        ("abc", "<class 'float'>", "abc"),  # does not convert: unchanged
        (None, "<class 'float'>", None),
        ("x", "None", "x"),
        ((1, 2), "<class 'list'>", [1, 2]),
    ],
)
def test_cast_dtype(value, dtype, expected):
    assert values.cast_dtype(value, dtype) == expected
