"""The vectorised CSV writer writes the bytes pandas writes (``to_csv(index=False, float_format="%.10g")``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mapping.outputs import csvtext
from mapping.outputs.csvtext import format_floats, frame_csv
from mapping.outputs.publish import _CSV_TEXT_CHANGES, _csv_text, neutralise_cell, write_csv


def _hard_floats(rng: np.random.Generator, n: int = 200_000) -> np.ndarray:
    """Values around every rounding and notation boundary of %.10g, beside ordinary ones."""
    parts = [
        rng.lognormal(0, 4, n) * rng.choice([-1, 1], n),
        np.rint(rng.lognormal(0, 3, n) * (k := 10.0 ** rng.integers(0, 12, n))) / k,  # short decimals
        rng.integers(-10**12, 10**12, n).astype(float),  # integers, some past 1e10
        (rng.integers(0, 10**11, n) + 0.5) / 10.0 ** rng.integers(0, 16, n),  # ties at the 11th digit
        10.0 ** rng.integers(-9, 14, n),  # powers of ten ...
        np.nextafter(10.0 ** rng.integers(-9, 14, n), np.inf),  # ... and their neighbours
        np.nextafter(10.0 ** rng.integers(-9, 14, n), -np.inf),
        np.nextafter(9.9999999995 * 10.0 ** rng.integers(-6, 11, n), -np.inf),  # rounds up to a power of ten?
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1.7976931348623157e308, 1e-4, 0.0001234,
                  9999999999.0, 9999999999.4999, 9999999999.5, 1e10, 0.00009999999999, 0.000099999999995, 0.5,
                  -0.1, 123456789.25, 2.5e-5]),
    ]
    return np.concatenate(parts)


def test_floats_are_percent_10g_byte_for_byte():
    x = _hard_floats(np.random.default_rng(11))
    got = format_floats(x).to_pylist()
    want = ["" if v != v else "%.10g" % v for v in x]
    wrong = [(repr(v), g, w) for v, g, w in zip(x, got, want) if g != w]
    assert not wrong, wrong[:10]


def _reference(df: pd.DataFrame, path, transform=None, transform_labels=None) -> None:
    """What write_csv wrote before: pandas after the text transform."""
    text = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    if text and transform is not None:
        df = df.copy()
        for c in text:
            df[c] = df[c].map(lambda v: transform(v) if isinstance(v, str) else v)
        df.columns = [transform_labels(c) if isinstance(c, str) else c for c in df.columns]
    df.to_csv(path, index=False, encoding="utf-8", float_format="%.10g")


def _mixed_frame(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    text = ["plain", "with, comma", 'a "quoted" word', "two\nlines", "=SUM(A1)", "-1.5", "+cmd", "@x", "",
            "Белгородская область", "tab\there", " lead", "trail ", "cr\rlf\r\nend"]
    mixed = [1, 1.0, True, None, "x", np.nan, 2.5, [1, 2], "a,b", -0.0]
    frame = pd.DataFrame({
        "f": rng.lognormal(0, 3, n) * rng.choice([-1, 1], n),
        "f_nan": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
        "f32": rng.random(n).astype(np.float32),
        "i": rng.integers(-10**15, 10**15, n),
        "u8": rng.integers(0, 255, n).astype(np.uint8),
        "b": rng.random(n) < 0.5,
        "nb": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.5), dtype="boolean"),
        "ni": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)), dtype="Int64"),
        "nf": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n)), dtype="Float64"),
        "s": pd.array([text[i % len(text)] if i % 7 else None for i in range(n)], dtype="str"),
        "o": np.array([text[(3 * i) % len(text)] if i % 5 else np.nan for i in range(n)], dtype=object),
        "m": np.array([mixed[i % len(mixed)] for i in range(n)], dtype=object),
    })
    frame.loc[::17, "f"] = np.nan
    return frame


@pytest.mark.parametrize("workers", [1, 2])
def test_frame_is_written_as_pandas_writes_it(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(csvtext, "CHUNK_ROWS", 97)  # many chunks, the last one short
    df = _mixed_frame()
    assert frame_csv(df, tmp_path / "new.csv", transform=_csv_text, transform_labels=neutralise_cell,
                     workers=workers) == len(df)
    _reference(df, tmp_path / "old.csv", _csv_text, neutralise_cell)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()


def test_header_labels_are_neutralised_only_beside_text(tmp_path):
    numbers = pd.DataFrame({"=a": [1.5], "b": [2]})
    write_csv(numbers, tmp_path / "n.csv")
    assert (tmp_path / "n.csv").read_text().splitlines()[0] == "=a,b"
    with_text = numbers.assign(c=["x"])
    write_csv(with_text, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == "'=a,b,c"


def test_empty_frame_writes_the_header(tmp_path):
    df = _mixed_frame().iloc[:0]
    assert frame_csv(df, tmp_path / "new.csv") == 0
    _reference(df, tmp_path / "old.csv")
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()


@pytest.mark.parametrize("df", [
    pd.DataFrame({"t": pd.to_datetime(["2021-01-01"]), "x": [1.0]}),  # another dtype
    pd.DataFrame({"x": [1.0, np.nan]}),  # one column: pandas quotes a lone empty field
    pd.DataFrame({"a": ["x\ry"], "x": [1.0]}),  # a bare CR (not transformed here)
    pd.DataFrame({"a": ["x\x1dy"], "x": [1.0]}),  # a placeholder character
    pd.DataFrame({1: ["x"], 2: [1.0]}),  # labels that are not text
    pd.DataFrame({"c": pd.Categorical(["x"]), "x": [1.0]}),
], ids=["datetime", "one-column", "cr", "placeholder", "int-labels", "categorical"])
def test_what_only_pandas_writes_is_left_to_pandas(tmp_path, df):
    assert frame_csv(df, tmp_path / "new.csv") is None
    assert not (tmp_path / "new.csv").exists()
    write_csv(df, tmp_path / "w.csv")  # write_csv falls back to pandas: same bytes as before
    _reference(df, tmp_path / "old.csv", _csv_text, neutralise_cell)
    assert (tmp_path / "w.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()


def test_manifest_digest_of_a_written_table_is_the_files(tmp_path):
    import hashlib

    from mapping.outputs.publish import output_sha256

    path = tmp_path / "t.csv"
    write_csv(_mixed_frame(300), path)
    assert output_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(path.read_bytes() + b"changed afterwards\n")  # not what was written: read again
    assert output_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("special", ["with, comma", 'a "quoted" word', "two\nlines", "=SUM(A1)", "-1.5", "+cmd",
                                     "@x", "tab\there", "\ttab", "cr\rlf", "\rcr", "x\x1dy", "", None])
def test_plain_arrow_text_is_written_as_it_is_and_other_text_as_before(tmp_path, monkeypatch, special):
    monkeypatch.setattr(csvtext, "CHUNK_ROWS", 7)
    n = 30
    plain = ["RU-MOW", "Белгородская область", " lead", "trail ", "a;b", "x=y", "1.5", "x-"]
    df = pd.DataFrame({"p": pd.array([plain[i % len(plain)] if i % 4 else None for i in range(n)], dtype="str"),
                       "s": pd.array([special if i % 5 == 3 else "ok" for i in range(n)], dtype="str"),
                       "x": np.arange(n) / 7})
    assert csvtext._as_is(df["p"], _CSV_TEXT_CHANGES) is not None  # the fast path is taken for "p"
    write_csv(df, tmp_path / "new.csv")
    _reference(df, tmp_path / "old.csv", _csv_text, neutralise_cell)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()


def test_manifest_digest_of_a_hard_link_is_remembered_and_the_files(tmp_path, monkeypatch):
    import hashlib

    from mapping.outputs import publish

    path = tmp_path / "t.csv"
    write_csv(_mixed_frame(300), path)
    publish.link_or_copy(path, tmp_path / "u.csv")
    monkeypatch.setattr(publish, "sha256_file", lambda p: "read again")  # a remembered digest is not read
    assert publish.output_sha256(tmp_path / "u.csv") in (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                        "read again" if not (tmp_path / "u.csv").samefile(path) else "")
