"""Local Moran's I of many maps over the same regions at once, as PySAL ``esda`` computes each.

``esda.Moran_Local(y, w, permutations=P, seed=s)`` standardises ``y``, computes ``I_i`` and the
quadrant of every region, and then, for the pseudo p-value, draws ``P`` conditional permutations:
permutation ``k`` takes the first ``card_i`` ids of ``choice(n - 1, max_card, replace=False)``
(one draw per permutation from ``numpy.random.seed(s)``; the same ids for every region, which the
region's own position is skipped in) as region ``i``'s neighbours. Without numba it does so with a
Python loop over regions, map after map: most of a large run's writing time.

:func:`moran_local_maps` returns the same numbers for a matrix of maps sharing one weights object:

* ``I``, the quadrants and the scaling are computed map by map with esda's own operations, in its order,
  so they are bit for bit esda's;
* the permuted lags of all maps come from one sparse product (a row per region and permutation,
  holding that permutation's neighbour ids and the region's weights) with the regions x maps matrix
  of z-values, a block of regions at a time (two blocks at once on two threads);
* a permuted statistic is at least ``I_i`` when its lag is past ``I_i / (z_i * scaling)``. Where the lag
  lies so close to that bound (:data:`TIE_ULPS`) that the rounding of a sum decides -- maps with many
  equal values have exact ties -- the region x map pair is recomputed with esda's own expression
  (``z_i * (zrand @ w_i + w_ii * z_i) * scaling``: the same arrays, the same BLAS matrix-vector
  product), so the pseudo p-values are esda's too.

``tests/analysis/test_localmoran.py`` checks the three against esda on maps with and without ties.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse

__all__ = ["moran_local_maps", "permuted_ids"]

#: Elements of a block's permuted lags (regions x permutations x maps): bounds the memory (~16 MB a thread).
BLOCK_ELEMENTS = 2_000_000
#: Closeness (in units of the terms' size, per neighbour) under which a permuted statistic and ``I_i``
#: are compared with esda's own arithmetic: about twice the worst case of a change of summation order.
TIE_ULPS = 8 * np.finfo(float).eps


@functools.lru_cache(maxsize=64)
def permuted_ids(max_card: int, n: int, permutations: int, seed: int) -> np.ndarray:
    """esda's ``vec_permutations`` (without numba): ``permutations x max_card`` ids drawn from ``n - 1``.

    ``numpy.random.seed(seed)`` followed by ``numpy.random.choice(n - 1, max_card, replace=False)``
    per permutation, on a private generator (the global one is left alone). The draws depend on these
    four numbers only: maps over different regions (a run with suppressed cells has hundreds of region
    sets) share them, so they are kept (read-only).
    """
    rs = np.random.RandomState(seed)
    out = np.empty((permutations, max_card), dtype=np.int64)
    for k in range(permutations):
        out[k] = rs.choice(n - 1, size=max_card, replace=False)
    out.setflags(write=False)
    return out


def _standardise(y: np.ndarray, sparse) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """z, I and the quadrant of one map, with esda's operations (``Moran_Local.__init__``)."""
    y = np.asarray(y).flatten()
    n = len(y)
    z = y - y.mean()
    with np.errstate(all="ignore"):
        sy = y.std()
        z /= sy
    den = (z * z).sum()
    zl = sparse @ z
    i_stat = (n - 1) * z * zl / den
    zp, lp = z > 0, zl > 0
    quad = 1 * (zp * lp) + 2 * ((1 - zp) * lp) + 3 * ((1 - zp) * (1 - lp)) + 4 * (zp * (1 - lp))
    scaling = (n - 1) / (z * z).sum()
    return z, i_stat, quad, scaling


def moran_local_maps(y: np.ndarray, w, *, permutations: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Local Moran's I of every column of ``y`` with weights ``w``, as ``esda.Moran_Local`` per column.

    Parameters
    ----------
    y : ndarray, shape (n, m)
        ``m`` maps over the ``n`` regions of ``w.id_order`` (no missing values).
    w : libpysal.weights.W
        Row-standardised weights without islands.
    permutations : int
        Conditional permutations (0: no inference).
    seed : int
        esda's ``seed``.

    Returns
    -------
    (I, quadrant, p) : ndarrays of shape (n, m)
        ``Is``, ``q`` (1 HH, 2 LH, 3 LL, 4 HL) and ``p_sim`` of ``esda.Moran_Local`` (``p`` is None
        without permutations).
    """
    y = np.asarray(y, dtype=float)
    n, m = y.shape
    sparse = w.sparse
    z = np.empty((n, m))
    i_stat = np.empty((n, m))
    quad = np.empty((n, m), dtype=np.int64)
    scaling = np.empty(m)
    for j in range(m):
        z[:, j], i_stat[:, j], quad[:, j], scaling[j] = _standardise(y[:, j], sparse)
    if not permutations or m == 0:
        return i_stat, quad, None
    # esda's crand: the weights without the diagonal (kept aside as self-weights), in CSR order.
    adj = sparse.tocsr(copy=True)
    self_w = adj.diagonal()
    adj.setdiag(0)
    adj.eliminate_zeros()
    other = adj.data.astype(float)
    card = np.diff(adj.indptr)
    start = adj.indptr[:-1]
    ids = permuted_ids(int(card.max()), n, permutations, seed)
    rowsum = np.asarray(abs(adj).sum(axis=1)).ravel()  # sum |w_ij|: with max|z|, bounds the lag's terms
    # esda counts z_i * lag * scaling >= I_i; as a bound on the lag: lag >= t (or <= t where z_i < 0),
    # t = I_i / (z_i * scaling). Within tol of t the rounding of either side decides: those are
    # recomputed with esda's arithmetic. tol bounds |this lag - esda's lag| (any summation order of
    # card_i products adding up to at most sum|w_i| max|z|) plus the roundings of t and of esda's products.
    c = z * scaling
    zero = z == 0  # every permuted statistic is 0 >= I_i = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(zero, 0.0, i_stat / np.where(zero, 1.0, c))
    sign = np.where(c < 0, -1.0, 1.0)
    tol = TIE_ULPS * (((card + 2) * rowsum)[:, None] * np.abs(z).max(axis=0) + np.abs(t))
    lo_bound, hi_bound = sign * t - tol, sign * t + tol
    flip = bool((c < 0).any())
    larger = np.zeros((n, m), dtype=np.int64)
    near = np.zeros((n, m), dtype=bool)

    small = np.int16 if permutations < np.iinfo(np.int16).max else np.int64

    def count(i0: int, i1: int) -> None:
        lag = (_permuted_lags(ids, card, start, other, i0, i1, n) @ z).reshape(i1 - i0, permutations, m)
        if self_w[i0:i1].any():
            lag += self_w[i0:i1, None, None] * z[i0:i1, None, :]
        if flip:
            lag *= sign[i0:i1, None, :]
        at_least = (lag >= lo_bound[i0:i1, None, :]).sum(axis=1, dtype=small)  # a narrow sum: about half the time
        beyond = (lag > hi_bound[i0:i1, None, :]).sum(axis=1, dtype=small)
        larger[i0:i1] = np.where(zero[i0:i1], permutations, beyond)
        near[i0:i1] = ((at_least != beyond) | (c[i0:i1] == 0)) & ~zero[i0:i1]

    block = max(1, BLOCK_ELEMENTS // max(1, permutations * m))
    blocks = [(i0, min(n, i0 + block)) for i0 in range(0, n, block)]
    if len(blocks) > 1 and (os.cpu_count() or 1) > 1:  # the sparse product and NumPy release the GIL
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda b: count(*b), blocks))
    else:
        for b in blocks:
            count(*b)
    ties = [(i, np.flatnonzero(near[i])) for i in np.flatnonzero(near.any(axis=1))]
    for i, maps in ties:  # esda's own arithmetic where the summation order decides
        larger[i, maps] = _esda_counts(z, maps, i_stat[i, maps], scaling[maps], ids, i, card[i],
                                       other[start[i]:start[i] + card[i]], self_w[i])
    low = (permutations - larger) < larger
    larger[low] = permutations - larger[low]
    return i_stat, quad, (larger + 1.0) / (permutations + 1.0)


def _esda_counts(z: np.ndarray, maps: np.ndarray, i_stat: np.ndarray, scaling: np.ndarray, ids: np.ndarray, i: int,
                 card: int, other_i: np.ndarray, self_w: float) -> np.ndarray:
    """How many permuted statistics of region ``i`` are at least ``I_i`` in the maps ``maps``, as esda counts.

    esda's ``_moran_local_crand``: ``z_i * (zrand @ w_i + w_ii * z_i) * scaling`` with ``zrand``
    the (permutations x card) z-values of the permuted neighbours; the maps are stacked into one
    ``matmul``, which makes the same BLAS matrix-vector product for each as esda's own call.
    """
    weights_i = np.zeros(card + 1, dtype=other_i.dtype)  # built as esda builds it (self-weight first)
    weights_i[0] = self_w
    weights_i[1:] = other_i
    flat = ids[:, :card].flatten()
    flat += flat >= i  # esda indexes z without region i
    zrand = np.ascontiguousarray(z[flat[:, None], maps[None, :]].reshape(len(ids), card, -1).transpose(2, 0, 1))
    zi = z[i, maps][:, None]
    rstats = zi * (np.matmul(zrand, weights_i[1:]) + weights_i[0] * zi) * scaling[:, None]
    return (rstats >= i_stat[:, None]).sum(axis=1)


def _permuted_lags(ids: np.ndarray, card: np.ndarray, start: np.ndarray, other: np.ndarray, i0: int, i1: int,
                   n: int) -> scipy.sparse.csr_matrix:
    """Rows (region i, permutation k) of the permuted neighbours' weights, for regions ``i0 <= i < i1``.

    Permutation ``k`` gives region ``i`` the ids ``ids[k, :card_i]`` among the other ``n - 1``
    regions (an id at or after ``i`` is one further on), weighted by row ``i`` of the weights.
    """
    p = ids.shape[0]
    indices, data, counts = [], [], []
    for i in range(i0, i1):
        c = card[i]
        sel = ids[:, :c]
        indices.append((sel + (sel >= i)).ravel())
        data.append(np.tile(other[start[i]:start[i] + c], p))
        counts.append(np.full(p, c))
    counts = np.concatenate(counts)
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return scipy.sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                                   shape=(len(counts), n))
