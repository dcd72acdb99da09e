"""Out-of-scope study on CLINC150 (issue: quality that holds on data you have not seen), exploratory.

What `edgebot.nlu.train` does on `train` alone (5-fold cross-validation picks temperature, neighbour weight and
threshold for a recall target), applied to all of `val` (3,000 in-scope, 100 out-of-scope), which chose
nothing. Compared: the fold scheme (stratified by label, or with near-duplicate texts, cosine >= 0.9 within a
label, kept in one fold: what the trainer does) and the recall target; beside each, the top probability alone.

    .venv/bin/python benchmarks/intents_oos_study.py > benchmarks/results/intents_oos_study.txt
"""

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import CLINC150, load_encoder

from edgebot.nlu import EmbeddingCache, intent_metrics, load_examples, softmax
from edgebot.nlu.data import OOS
from edgebot.nlu.ngrams import CharNgrams
from edgebot.nlu.oos import calibrate, decide, neighbour_similarity
from edgebot.nlu.training import C_REG, _softmax, cross_validated_logits, grouped_folds

enc = load_encoder()
cache = EmbeddingCache(Path(tempfile.mkdtemp()) / "emb.sqlite3")
tr, va = load_examples(CLINC150, "train"), load_examples(CLINC150, "val")
xt, _ = cache.embed(enc, tr.texts)
xv, _ = cache.embed(enc, va.texts)
labels = sorted({label for label in tr.labels if label != OOS}) + [OOS]
index = {label: i for i, label in enumerate(labels)}
y = np.array([index[label] for label in tr.labels])
ins = y != index[OOS]
grams = CharNgrams.fit(tr.texts)
model = softmax.fit(xt, grams.matrix(tr.texts), y, len(labels), l2=1.0 / (C_REG * len(y)))
zv = model.logits(xv, grams.matrix(va.texts))
nv = neighbour_similarity(xv, xt[ins])
for scheme in ("stratified", "near-duplicates together"):
    t0 = time.time()
    fold = grouped_folds(xt, y, 5, near=1.01 if scheme == "stratified" else 0.9)
    oof = cross_validated_logits(xt, tr.texts, y, len(labels), fold)
    no = np.zeros(len(y))
    for k in range(5):
        rows = fold == k
        no[rows] = neighbour_similarity(xt[rows], xt[~rows & ins])
    temp = softmax.fit_temperature(oof, y)
    po, pv = _softmax(oof / temp), _softmax(zv / temp)
    print(f"{scheme}: 5-fold cross-validation on train in {time.time() - t0:.0f} s")
    for target in (0.8, 0.85, 0.9):
        w, th = calibrate(po, no, tr.labels, labels, target)
        m_oof = intent_metrics(tr.labels, decide(po, labels, th, no, w)[0])
        m_val = intent_metrics(va.labels, decide(pv, labels, th, nv, w)[0])
        w0, th0 = 0.0, calibrate(po, None, tr.labels, labels, target)[1]
        m_val0 = intent_metrics(va.labels, decide(pv, labels, th0)[0])
        print(f"  target {target}: weight {w}  OOF acc {m_oof['in_scope_accuracy']:.4f} rec {m_oof['oos_recall']:.3f}"
              f" | val acc {m_val['in_scope_accuracy']:.4f} rec {m_val['oos_recall']:.3f}"
              f" | probability alone: val acc {m_val0['in_scope_accuracy']:.4f} rec {m_val0['oos_recall']:.3f}")
    sys.stdout.flush()
