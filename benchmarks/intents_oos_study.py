"""Out-of-scope study on CLINC150 (issue: quality that holds on data you have not seen), exploratory.

Thresholds are chosen on out-of-fold scores of `train` (5-fold cross-validation, oos_train's 100 texts among
them) for a target out-of-scope recall, then applied to all of `val` (3,000 in-scope, 100 out-of-scope),
which chose nothing. Scores compared: the calibrated top in-scope probability (what edgebot uses), the mean
cosine of the 3 nearest in-scope training examples (kNN), their mix, and the margin over P(oos).

    .venv/bin/python benchmarks/intents_oos_study.py > benchmarks/results/intents_oos_study.txt
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import CLINC150, load_encoder

from edgebot.nlu import EmbeddingCache, load_examples, softmax
from edgebot.nlu.data import OOS
from edgebot.nlu.ngrams import CharNgrams
from edgebot.nlu.training import C_REG, _softmax, cross_validated_logits

enc = load_encoder()
cache = EmbeddingCache(Path(tempfile.mkdtemp()) / "emb.sqlite3")
tr, va = load_examples(CLINC150, "train"), load_examples(CLINC150, "val")
xt, _ = cache.embed(enc, tr.texts); xv, _ = cache.embed(enc, va.texts)
labels = sorted({l for l in tr.labels if l != OOS}) + [OOS]
idx = {l: i for i, l in enumerate(labels)}
y = np.array([idx[l] for l in tr.labels])
t0 = time.time()
oof = cross_validated_logits(xt, tr.texts, y, len(labels), 5)
print(f"5-fold cross-validation on train: {time.time() - t0:.0f} s")
T = softmax.fit_temperature(oof, y)
grams = CharNgrams.fit(tr.texts)
model = softmax.fit(xt, grams.matrix(tr.texts), y, len(labels), l2=1.0/(C_REG*len(y)))
pv = _softmax(model.logits(xv, grams.matrix(va.texts)) / T)
po = _softmax(oof / T)
# knn: max cosine to in-scope training examples (excluding self for OOF: use fold-free approx: leave-one-out max over others)
ins = np.array([l != OOS for l in tr.labels])
Xin = xt[ins]
def knn_sim(X, exclude_self=False):
    out = np.empty(len(X))
    for s in range(0, len(X), 1000):
        S = X[s:s+1000] @ Xin.T
        if exclude_self:
            S[S > 0.9999] = -1
        out[s:s+1000] = np.sort(S, axis=1)[:, -3:].mean(axis=1)
    return out
ko = knn_sim(xt, True); kv = knn_sim(xv)
truth_o = np.array(tr.labels, dtype=object); truth_v = np.array(va.labels, dtype=object)
def evaluate(score_o, score_v, pred_o, pred_v, target):
    # threshold on OOF so that OOF oos recall >= target, maximizing in-scope acc; report on val
    oos_o = truth_o == OOS
    cands = np.unique(score_o)
    best = None
    for th in cands[::max(1, len(cands)//3000)]:
        rec = (score_o[oos_o] < th).mean()
        if rec < target: continue
        acc = ((pred_o == truth_o) & ~oos_o & (score_o >= th)).sum() / (~oos_o).sum()
        if best is None or acc > best[1]: best = (th, acc, rec)
    th = best[0]
    oos_v = truth_v == OOS
    acc_v = ((pred_v == truth_v) & ~oos_v & (score_v >= th)).sum() / (~oos_v).sum()
    rec_v = (score_v[oos_v] < th).mean()
    return best[1], best[2], acc_v, rec_v
in_idx = np.array([i for i, l in enumerate(labels) if l != OOS])
pred_o = np.array([labels[in_idx[b]] for b in po[:, in_idx].argmax(1)], dtype=object)
pred_v = np.array([labels[in_idx[b]] for b in pv[:, in_idx].argmax(1)], dtype=object)
mo, mv = po[:, in_idx].max(1), pv[:, in_idx].max(1)


def row(name, score_o, score_v, target):
    oof_acc, oof_rec, val_acc, val_rec = evaluate(score_o, score_v, pred_o, pred_v, target)
    print(f"  {name:<12} OOF acc {oof_acc:.4f} rec {oof_rec:.3f} | val acc {val_acc:.4f} rec {val_rec:.3f}")


for target in (0.8, 0.85, 0.9, 0.95):
    print("target", target)
    row("maxprob", mo, mv, target)
    row("knn3", ko, kv, target)
    for w in (0.3, 0.5):
        row(f"mix w={w}", (1 - w) * mo + w * ko, (1 - w) * mv + w * kv, target)
    row("margin", mo - po[:, idx[OOS]], mv - pv[:, idx[OOS]], target)  # top in-scope minus P(oos)
