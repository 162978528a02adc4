"""Location quotients and co-location relatedness on dense region x activity arrays.

The long-table functions (:func:`mapping.analysis.location_quotient.location_quotients`,
:func:`mapping.analysis.relatedness.relatedness`) handle any mix of years, levels and sparse rows; for wide
inputs -- thousands of municipal units x hundreds of OKVED2 classes, e.g. from firm-level records
(:mod:`mapping.ingest.firms`) -- this module computes the same quantities on ``(indicators, regions,
activities)`` arrays in a few vectorised passes:

- :func:`dense_lq` -- the LQ of :func:`~mapping.analysis.location_quotient.location_quotients` with the same
  rules for undefined cells (a reason code instead of a number, never 0 or inf);
- :func:`dense_relatedness` -- the measures of :func:`~mapping.analysis.relatedness.relatedness` (Pearson
  correlation pairwise-complete with ``min_regions``, cosine, Hidalgo proximity), with the
  correlation computed by matrix products instead of pandas' pair loop;
- :func:`from_long` / :meth:`DenseLQ.to_long` -- to and from the project's long tables.

The tests check both against the long-table functions on random data with gaps and zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mapping.errors import MappingError

__all__ = ["DenseLQ", "dense_lq", "dense_relatedness", "from_long", "REASONS"]

#: Reason codes of undefined LQs, as in :mod:`mapping.analysis.location_quotient` (0 = defined).
REASONS = {1: "value missing (suppressed or not published)", 2: "region total is zero",
           3: "national value of the activity is zero",
           4: ("region total unknown: a cell of the region is suppressed and no total is published "
               "(see lq_low/lq_high)")}
_PROXIMITY_LQ = 1.0


@dataclass
class DenseLQ:
    """LQs of an ``(indicators, regions, activities)`` array, with the labels of each axis.

    ``reason`` is None when every LQ is defined, else a uint8 array of :data:`REASONS` codes.
    """

    lq: np.ndarray
    region_total: np.ndarray
    national_value: np.ndarray
    national_total: np.ndarray
    reason: np.ndarray | None
    indicators: list[str]
    regions: list[str]
    activities: list[str]

    def to_long(self, values: np.ndarray, *, threshold: float = 2.0, present: np.ndarray | None = None
                ) -> pd.DataFrame:
        """The long table of :func:`~mapping.analysis.location_quotient.location_quotients` (its LQ columns).

        Parameters
        ----------
        values : ndarray
            The array the LQs were computed from.
        threshold : float
            ``specialised`` is ``lq >= threshold``.
        present : ndarray of bool, optional
            Cells that exist as rows (default: all).

        Returns
        -------
        DataFrame
            ``indicator, region_code, activity_code, value, region_total, national_value,
            national_total, share_of_national, lq, lq_reason, specialised``, sorted like the
            long-table function.
        """
        ni, nr, na = values.shape
        idx = np.flatnonzero(present.ravel()) if present is not None else np.arange(ni * nr * na)
        i, rem = np.divmod(idx, nr * na)
        r, a = np.divmod(rem, na)
        nv = self.national_value[i, a]
        v = values.ravel()[idx]
        reason = self.reason.ravel()[idx] if self.reason is not None else np.zeros(len(idx), np.uint8)
        lq = self.lq.ravel()[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(nv > 0, v / nv, np.nan)
        out = pd.DataFrame({
            "indicator": np.asarray(self.indicators, dtype=object)[i],
            "region_code": np.asarray(self.regions, dtype=object)[r],
            "activity_code": np.asarray(self.activities, dtype=object)[a],
            "value": v, "region_total": self.region_total[i, r], "national_value": nv,
            "national_total": self.national_total[i], "share_of_national": share, "lq": lq,
            "lq_reason": pd.Series(reason).map({0: "", **REASONS}).to_numpy(dtype=object),
            "specialised": np.nan_to_num(lq, nan=-np.inf) >= threshold})
        return out.sort_values(["indicator", "region_code", "activity_code"], kind="stable").reset_index(drop=True)


def _sum(x: np.ndarray, axis, has_nan: bool) -> np.ndarray:
    """Sum like pandas ``sum(min_count=1)``: NaN where every term is NaN."""
    if not has_nan:
        return x.sum(axis=axis)
    total = np.nansum(x, axis=axis)
    total[np.all(np.isnan(x), axis=axis)] = np.nan
    return total


def dense_lq(values: np.ndarray, *, indicators=None, regions=None, activities=None,
             present: np.ndarray | None = None) -> DenseLQ:
    """Location quotients of a dense ``(indicators, regions, activities)`` (or 2-D) array.

    ``lq = (value / region_total) / (national_value / national_total)`` with the region total summed
    over the activities, the national value over the regions and the national total over both --
    the maths and the undefined-cell rules of :func:`mapping.analysis.location_quotient.location_quotients`
    for one year, classification and level per indicator.

    Parameters
    ----------
    values : ndarray
        Non-negative values, NaN where missing (suppressed or not published).
    indicators, regions, activities : sequence of str, optional
        Labels of the axes (default ``0, 1, ...``).
    present : ndarray of bool, optional
        Which cells are rows of the table (default: all). A present NaN cell is suppressed: its
        region's total is unknown, so that region's other LQs are undefined too (reason 4).

    Returns
    -------
    DenseLQ

    Raises
    ------
    MappingError
        Not 2-D or 3-D, or a negative value.

    Examples
    --------
    >>> v = np.array([[30.0, 10.0], [10.0, 50.0]])
    >>> dense_lq(v).lq.round(3).tolist()
    [[[1.875, 0.417], [0.417, 1.389]]]
    """
    v = np.asarray(values, dtype=float)
    if v.ndim == 2:
        v = v[None]
    if v.ndim != 3:
        raise MappingError(f"dense_lq: expected a (regions, activities) or (indicators, regions, activities) "
                           f"array, got shape {np.shape(values)}")
    nan_mask = np.isnan(v)
    has_nan = bool(nan_mask.any())
    if (np.nanmin(v) if has_nan and not nan_mask.all() else v.min(initial=0)) < 0:
        raise MappingError("dense_lq: negative value(s); location quotients need values >= 0")
    rt = _sum(v, 2, has_nan)
    nv = _sum(v, 1, has_nan)
    nt = _sum(rt, 1, bool(np.isnan(rt).any()))
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_rt = 1.0 / rt  # two multiplications by precomputed factors: one pass each over the array
        scale = nt[:, None] / nv
        lq = v * inv_rt[:, :, None]
        lq *= scale[:, None, :]
    bad_r = ~(rt > 0)   # zero or NaN
    bad_a = ~(nv > 0)
    reason = None
    if has_nan or bad_r.any() or bad_a.any():
        reason = np.zeros(v.shape, np.uint8)
        reason[np.broadcast_to(bad_a[:, None, :], v.shape)] = 3
        reason[np.broadcast_to(bad_r[:, :, None], v.shape)] = 2
        supp = nan_mask if present is None else nan_mask & np.asarray(present, bool).reshape(v.shape)
        partial = np.broadcast_to(supp.any(axis=2)[:, :, None], v.shape)
        reason[partial & (reason == 0)] = 4
        reason[nan_mask] = 1
        lq[reason != 0] = np.nan
    ni, nr, na = v.shape
    return DenseLQ(lq=lq, region_total=rt, national_value=nv, national_total=nt, reason=reason,
                   indicators=list(indicators) if indicators is not None else [str(i) for i in range(ni)],
                   regions=list(regions) if regions is not None else [str(i) for i in range(nr)],
                   activities=list(activities) if activities is not None else [str(i) for i in range(na)])


def _pairwise_corr(x: np.ndarray, min_periods: int) -> np.ndarray:
    """Pearson correlation of the columns, pairwise-complete (pandas ``DataFrame.corr`` semantics).

    Complete columns use one centred product; pairs involving a column with gaps use masked sums,
    so the cost grows with the number of incomplete columns only.
    """
    n_rows, n = x.shape
    present = ~np.isnan(x)
    full = present.all(axis=0)
    out = np.full((n, n), np.nan)
    f = np.flatnonzero(full)
    if len(f) and n_rows >= min_periods:
        xs = x if len(f) == n else x[:, f]  # no copy when every column is complete
        xf = xs - xs.mean(axis=0)
        cov = xf.T @ xf
        d = np.sqrt(np.diag(cov))
        dd = np.outer(d, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(dd > 0, cov / dd, np.nan)
        if len(f) == n:  # every column complete: the block is the whole matrix (no scatter of n x n cells)
            out = r
        else:
            out[np.ix_(f, f)] = r
    g = np.flatnonzero(~full)
    if len(g):
        m = present.astype(float)
        x0 = np.where(present, x, 0.0)
        mg, xg = m[:, g], x0[:, g]
        cnt = mg.T @ m                  # rows where both columns are present
        sx = xg.T @ m                   # sum of x_g over those rows
        sy = mg.T @ x0                  # sum of x_j over those rows
        sxx = (xg * xg).T @ m
        syy = mg.T @ (x0 * x0)
        sxy = xg.T @ x0
        with np.errstate(divide="ignore", invalid="ignore"):
            cov = sxy - sx * sy / cnt
            vx = sxx - sx * sx / cnt
            vy = syy - sy * sy / cnt
            r = cov / np.sqrt(vx * vy)
        r[(cnt < max(min_periods, 2)) | ~(vx > 0) | ~(vy > 0)] = np.nan  # too few rows, or a constant column
        out[g, :] = r
        out[:, g] = r.T
    np.clip(out, -1.0, 1.0, out=out)
    return out


def dense_relatedness(lq: np.ndarray, *, measure: str = "correlation", min_regions: int = 5) -> np.ndarray:
    """Activity x activity relatedness of a ``(regions, activities)`` LQ array (NaN = no data).

    Same measures and rules as :func:`mapping.analysis.relatedness.relatedness`: pairs seen together in
    fewer than ``min_regions`` regions get 0, the diagonal is 1.

    Parameters
    ----------
    lq : ndarray
        Regions x activities.
    measure : {"correlation", "cosine", "proximity"}
    min_regions : int

    Returns
    -------
    ndarray
        Square, symmetric.
    """
    x = np.asarray(lq, dtype=float)
    present = ~np.isnan(x)
    if present.all():  # no gaps: every pair is seen together in every region
        together = None
    else:
        pf = present.astype(np.float32)  # exact for counts below 2**24
        together = pf.T @ pf
    if measure == "correlation":
        mat = _pairwise_corr(x, min_regions)
    elif measure == "cosine":
        z = np.nan_to_num(x)
        norms = np.linalg.norm(z, axis=0)
        norms[norms == 0] = 1.0
        mat = (z.T @ z) / np.outer(norms, norms)
    elif measure == "proximity":
        s = (np.nan_to_num(x) >= _PROXIMITY_LQ).astype(float)
        both = s.T @ s
        n = s.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = both / n[None, :]
        mat = np.fmin(cond, cond.T)
    else:
        raise MappingError(f"relatedness measure {measure!r} is not one of ('correlation', 'cosine', 'proximity')")
    if together is not None:
        mat = np.where(together >= min_regions, mat, 0.0)
    elif x.shape[0] < min_regions:
        mat = np.zeros_like(mat)
    mat = np.nan_to_num(mat, nan=0.0, copy=False)  # every measure above built a fresh array
    np.fill_diagonal(mat, 1.0)
    return mat


def from_long(frame: pd.DataFrame, *, value: str = "value", indicator: str = "indicator",
              region: str = "region_code", activity: str = "activity_code"
              ) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[str]]:
    """Dense ``(indicators, regions, activities)`` array of a long table (one year, level).

    Returns
    -------
    values : ndarray
        NaN where a cell is missing or absent.
    present : ndarray of bool
        Cells that are rows of ``frame``.
    indicators, regions, activities : list of str
        Sorted labels.

    Raises
    ------
    MappingError
        The same indicator x region x activity appears twice.
    """
    ii, inds = pd.factorize(frame[indicator], sort=True)
    rr, regs = pd.factorize(frame[region], sort=True)
    aa, acts = pd.factorize(frame[activity], sort=True)
    shape = (len(inds), len(regs), len(acts))
    flat = (ii.astype(np.int64) * shape[1] + rr) * shape[2] + aa
    if len(flat) and np.bincount(flat).max() > 1:  # (np.unique is slow on millions of distinct values)
        raise MappingError("from_long: the same indicator x region x activity appears more than once")
    values = np.full(shape, np.nan)
    present = np.zeros(shape, bool)
    values.ravel()[flat] = frame[value].to_numpy(dtype=float)
    present.ravel()[flat] = True
    return values, present, list(inds), list(regs), list(acts)
