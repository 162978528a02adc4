"""LQ + relatedness + grouping on 3,000 regions x 1,000 activities x 3 indicators (synthetic, labelled).

Compares, on the same arrays in the same run:

- the project: :func:`mapping.analysis.fastlq.dense_lq` (3 indicators), :func:`mapping.analysis.fastlq.dense_relatedness`
  (correlation of the employment LQs, pairwise-complete) and :func:`mapping.analysis.relatedness.group_activities`
  (agglomerative, k chosen by silhouette in 3..8);
- plain dense NumPy for the same maths (no checks for gaps, zeros or negative values);
- ``economic-complexity``: ``rca`` (= LQ) per indicator and ``proximity``;
- ``ecomplexity``: ``ecomplexity`` (RCA, M_cp, ECI/PCI, density, ...) and ``proximity`` on the long table
  of one indicator (one timed call each: they take seconds).

Run: ``.venv/bin/python benchmarks/bench_lq_relatedness.py [--quick]`` (prints figures and ratios; targets:
whole project stage <= 1 s, LQ step within 2x of NumPy; ``--quick`` skips ``ecomplexity``, ~1 min per call).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import types
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from _common import machine, table, timeit  # noqa: E402

from mapping.analysis.fastlq import dense_lq, dense_relatedness  # noqa: E402
from mapping.analysis.grouping import group_activities  # noqa: E402
from mapping.analysis.iorelatedness import io_links  # noqa: E402

R, A = 3000, 1000
INDICATORS = ["employment", "revenue", "exports"]


def synthetic(seed: int = 2024) -> tuple[np.ndarray, list[str], list[str]]:
    """Values (indicators, regions, activities) with latent co-location groups; labels of regions, activities.

    Regions differ in size (log-normal) and in their affinity to 25 latent groups of activities, so
    relatedness has structure to find; exports are zero for ~70% of cells.
    """
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 25, A)
    size = rng.lognormal(10, 1.2, R)
    affinity = rng.normal(0, 1, (R, 25))
    scale = rng.lognormal(0, 1, A)
    emp = size[:, None] * scale[None, :] * np.exp(affinity[:, group] + rng.normal(0, 0.5, (R, A)))
    rev = emp * rng.lognormal(1, 0.3, A)[None, :] * np.exp(rng.normal(0, 0.3, (R, A)))
    exp = rev * rng.uniform(0, 0.5, (R, A)) * (rng.random((R, A)) < 0.3)
    regions = [f"M{r:05d}" for r in range(R)]  # municipal-unit style codes
    activities = [f"{10 + a // 100:02d}.{a % 100:02d}" for a in range(A)]  # OKVED2-class style codes
    return np.stack([emp, rev, exp]), regions, activities


def numpy_lq(v: np.ndarray) -> np.ndarray:
    return (v / v.sum(axis=2, keepdims=True)) / (v.sum(axis=1, keepdims=True) / v.sum(axis=(1, 2), keepdims=True))


def main() -> None:
    values, regions, activities = synthetic()
    print(machine())
    print(f"data: {len(INDICATORS)} indicators x {R} regions x {A} activities = {values.size:,} cells "
          f"(exports zero in {np.mean(values[2] == 0):.0%})")

    # --- the project --------------------------------------------------------------------------
    lq_best, lq_med, d = timeit(lambda: dense_lq(values, indicators=INDICATORS, regions=regions,
                                                 activities=activities), repeat=7)
    rel_best, rel_med, rel = timeit(lambda: dense_relatedness(d.lq[0], measure="correlation"), repeat=5)
    matrix = pd.DataFrame(rel, index=activities, columns=activities)
    grp_best, grp_med, groups = timeit(lambda: group_activities(matrix, method="agglomerative", n_groups="auto",
                                                                min_groups=3, max_groups=8), repeat=3)

    def whole():
        dd = dense_lq(values, indicators=INDICATORS, regions=regions, activities=activities)
        m = pd.DataFrame(dense_relatedness(dd.lq[0]), index=activities, columns=activities)
        return group_activities(m, method="agglomerative", n_groups="auto", min_groups=3, max_groups=8)

    stage_best, stage_med, _ = timeit(whole, repeat=3)

    # --- input-output step: 1,000 activities mapped onto 400 industries with dense flows ----------
    rng = np.random.default_rng(7)
    inds = [f"I{i:03d}" for i in range(400)]
    flows = pd.DataFrame({"from_code": np.repeat(inds, 400), "to_code": np.tile(inds, 400),
                          "value": rng.lognormal(0, 2, 400 * 400)})
    io_map = {a: (inds[i % 400],) for i, a in enumerate(activities)}
    io_best, io_med, _ = timeit(lambda: io_links(activities, flows, io_map), repeat=5)

    # --- plain NumPy ----------------------------------------------------------------------------
    np_lq_best, np_lq_med, lq_np = timeit(lambda: numpy_lq(values), repeat=7)
    np_corr_best, np_corr_med, corr_np = timeit(lambda: np.corrcoef(lq_np[0], rowvar=False), repeat=5)
    lq_diff = float(np.nanmax(np.abs(d.lq - lq_np)))
    rel_diff = float(np.max(np.abs(rel - np.where(np.eye(A, dtype=bool), 1.0, corr_np))))

    # --- economic-complexity ----------------------------------------------------------------------
    import economic_complexity as ecx
    import economic_complexity.product_space as ecx_ps

    # economic-complexity 0.3.0's proximity() ends with np.fill_diagonal(phi.values, 0), which fails under
    # pandas 3 (copy-on-write: read-only .values); time it with that last diagonal write skipped.
    shim = types.ModuleType("numpy_shim")
    shim.__dict__.update(np.__dict__)
    shim.fill_diagonal = lambda a, val, wrap=False: None
    ecx_ps.np = shim

    frames = [pd.DataFrame(values[i], index=pd.Index(regions, name="region"),
                           columns=pd.Index(activities, name="activity")) for i in range(3)]
    ecx_rca_best, ecx_rca_med, rcas = timeit(lambda: [ecx.rca(f) for f in frames], repeat=3)
    ecx_prox_best, _, _ = timeit(lambda: ecx.proximity(rcas[0]), repeat=1)
    ecx_diff = float(np.nanmax(np.abs(rcas[0].to_numpy() - d.lq[0])))

    # --- ecomplexity (long table of one indicator) -----------------------------------------------
    import ecomplexity

    long = pd.DataFrame({"year": 2021, "region": np.repeat(regions, A), "activity": np.tile(activities, R),
                         "value": values[0].ravel()})
    cols = {"time": "year", "loc": "region", "prod": "activity", "val": "value"}
    eco_full = eco_prox = float("nan")
    if "--quick" not in sys.argv:  # ecomplexity needs about a minute per call here
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            ecomplexity.ecomplexity(long, cols, verbose=False)
            eco_full = time.perf_counter() - t
            t = time.perf_counter()
            ecomplexity.proximity(long, cols)
            eco_prox = time.perf_counter() - t

    rows = [
        ("project: LQ, 3 indicators (dense_lq)", f"{lq_best:.4f}", f"{lq_med:.4f}", f"{lq_best / np_lq_best:.2f}x NumPy"),
        ("project: relatedness, correlation (dense_relatedness)", f"{rel_best:.4f}", f"{rel_med:.4f}",
         f"{rel_best / np_corr_best:.2f}x np.corrcoef"),
        ("project: grouping, k in 3..8 (group_activities)", f"{grp_best:.4f}", f"{grp_med:.4f}", ""),
        ("project: whole stage (LQ + relatedness + grouping)", f"{stage_best:.4f}", f"{stage_med:.4f}",
         "target <= 1 s: " + ("met" if stage_best <= 1.0 else "NOT met")),
        ("project: input-output links, 1,000 activities (io_links)", f"{io_best:.4f}", f"{io_med:.4f}",
         "target <= 0.5 s: " + ("met" if io_best <= 0.5 else "NOT met")),
        ("NumPy: LQ, 3 indicators", f"{np_lq_best:.4f}", f"{np_lq_med:.4f}", "baseline"),
        ("NumPy: np.corrcoef of employment LQs", f"{np_corr_best:.4f}", f"{np_corr_med:.4f}", "baseline"),
        ("economic-complexity: rca, 3 indicators", f"{ecx_rca_best:.4f}", f"{ecx_rca_med:.4f}",
         f"{ecx_rca_best / lq_best:.1f}x project LQ"),
        ("economic-complexity: proximity (1 indicator)", f"{ecx_prox_best:.4f}", "", ""),
        ("ecomplexity: ecomplexity() (1 indicator, long table)", f"{eco_full:.4f}", "", "one call"),
        ("ecomplexity: proximity() (1 indicator, long table)", f"{eco_prox:.4f}", "", "one call"),
    ]
    print(table(rows, ("step", "best s", "median s", "ratio")))
    print(f"\nLQ step: {lq_best * 1000:.1f} ms vs NumPy {np_lq_best * 1000:.1f} ms -> {lq_best / np_lq_best:.2f}x "
          f"(target within 2x: {'met' if lq_best <= 2 * np_lq_best else 'NOT met'}); "
          f"per indicator {lq_best / 3 * 1000:.1f} ms")
    print(f"agreement: |LQ - NumPy| max {lq_diff:.1e}; |LQ - economic-complexity rca| max {ecx_diff:.1e}; "
          f"|relatedness - corrcoef| max {rel_diff:.1e}")
    print(f"groups: k = {groups.attrs['n_groups']}, mean silhouette {groups.attrs['silhouette']:.3f}")


if __name__ == "__main__":
    main()
