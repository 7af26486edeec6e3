"""Reference values for the ranking and agreement metrics (engine/metrics.h), from code
nobody here wrote: scikit-learn's ndcg_score (standard NDCG, on tie-free inputs),
scipy.stats.kendalltau (tau-b), plus numpy formulas written independently of the C++
code (the paper's NDCG, P@k, Cronbach's alpha) and a Monte-Carlo over random
permutations for the chance values.

Usage: metrics_ref.py OUT_DIR   (writes OUT_DIR/manifest.json)
"""
import json
import sys

import numpy as np
from scipy.stats import kendalltau
from sklearn.metrics import ndcg_score

rng = np.random.default_rng(20210606)


def top(scores, k):
    # Descending, ties by the lower index: a stable sort of the negated scores.
    return np.argsort(-scores, kind="stable")[:k]


def ranking_case(n, k):
    r = rng.permutation(n).astype(np.float64) + rng.random(n) * 0.5  # tie-free, one zero
    r[np.argmin(r)] = 0.0
    p = rng.normal(size=n) * 2.0
    kk = min(k, n)
    disc = 1.0 / np.log2(np.arange(kk) + 2.0)
    idcg = float(np.sum(r[top(r, kk)] * disc))
    ndcg_paper = float(np.sum(p[top(p, kk)] * disc)) / idcg
    precision = len(set(top(p, kk).tolist()) & set(top(r, kk).tolist())) / kk
    # Chance by simulation: random orders of the segments.
    trials = 20000
    nd, pk = np.empty(trials), np.empty(trials)
    true_top = set(top(r, kk).tolist())
    for t in range(trials):
        order = rng.permutation(n)[:kk]
        nd[t] = np.sum(r[order] * disc) / idcg
        pk[t] = len(true_top & set(order.tolist())) / kk
    return {
        "truth": r.tolist(), "pred": p.tolist(), "k": k,
        "ndcg": float(ndcg_score([r], [p], k=k)),
        "ndcg_paper": ndcg_paper, "precision": precision,
        "chance_ndcg_mc": float(nd.mean()), "chance_ndcg_se": float(nd.std() / np.sqrt(trials)),
        "chance_p_mc": float(pk.mean()), "chance_p_se": float(pk.std() / np.sqrt(trials)),
    }


def alpha(ratings):  # ratings [annotators, segments]
    m = ratings.shape[0]
    return float(m / (m - 1) * (1 - ratings.var(axis=1, ddof=1).sum() / ratings.sum(axis=0).var(ddof=1)))


def main():
    cases = []
    for n, k in [(2, 1), (3, 5), (7, 5), (12, 5), (12, 10), (40, 10), (40, 40), (25, 3)]:
        cases.append(ranking_case(n, k))

    kendall = []
    for n, levels in [(5, None), (20, None), (30, 4), (50, 3), (9, 2)]:
        if levels:  # many ties
            x = rng.integers(0, levels, n).astype(np.float64)
            y = rng.integers(0, levels, n).astype(np.float64)
        else:
            x, y = rng.normal(size=n), rng.normal(size=n)
        kendall.append({"x": x.tolist(), "y": y.tolist(), "tau_b": float(kendalltau(x, y)[0])})  # tau-b

    alphas = []
    for m, n in [(2, 5), (3, 20), (5, 12), (8, 40)]:
        base = rng.normal(size=n)
        ratings = base[None, :] + rng.normal(size=(m, n)) * rng.uniform(0.2, 2.0)
        alphas.append({"ratings": ratings.tolist(), "alpha": alpha(ratings)})

    quantiles = []
    for n in (1, 2, 7, 40):
        values = rng.normal(size=n)
        for q in (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0):
            quantiles.append({"values": values.tolist(), "q": q, "expected": float(np.quantile(values, q))})

    json.dump({"ranking": cases, "kendall": kendall, "alpha": alphas, "quantiles": quantiles},
              open(sys.argv[1] + "/manifest.json", "w"), indent=1)


if __name__ == "__main__":
    main()
