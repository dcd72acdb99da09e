"""Training on a small fixture with the real encoder; the exported ONNX file; the encoder check."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from edgebot.cli import main
from edgebot.errors import UsageError
from edgebot.nlu import EmbeddingCache, Encoder, Head, IntentClassifier, intent_metrics, load_examples, train
from edgebot.nlu.oos import calibrate, choose_threshold, decide, neighbour_similarity
from edgebot.nlu.training import grouped_folds

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder):
    folder = tmp_path_factory.mktemp("intents")
    cache = EmbeddingCache(folder / "cache.sqlite3")
    result = train(load_examples(FIXTURES / "intents_train.csv", "train"),
                   load_examples(FIXTURES / "intents_val.csv", "val"), encoder, cache, folder / "m.onnx")
    yield result, cache, folder
    cache.close()


def test_fixture_model_classifies_unseen_texts(trained, encoder: Encoder) -> None:
    result, _, _ = trained
    clf = IntentClassifier(encoder, result.path)
    preds = clf.predict(["what's the balance in my account", "i need to reset my password", "track my parcel"])
    assert [p.intent for p in preds] == ["check_balance", "reset_password", "order_status"]
    assert all(len(p.top) == 3 and p.top[0].intent == p.intent and p.confidence >= clf.threshold for p in preds)
    assert result.metrics["cross_validation"]["in_scope_accuracy"] >= 0.9


def test_export_reload_round_trip(trained, encoder: Encoder) -> None:
    result, _, _ = trained
    head = Head(result.path)
    assert head.meta.labels == result.labels and head.meta.labels[-1] == "oos"
    assert head.meta.threshold == pytest.approx(result.threshold)
    assert head.meta.temperature == pytest.approx(result.temperature)
    assert head.meta.encoder_sha256 == encoder.sha256
    assert head.meta.training_data_sha256 != load_examples(FIXTURES / "intents_train.csv", "train").digest()
    assert head.meta.metrics["cross_validation"]["n"] == 39 + 16  # the validation texts were trained on too
    assert head.meta.neighbour_weight == result.neighbour_weight
    texts = ["cancel my order please", "what time do you open"]
    probs, neighbours = head.run(encoder.embed(texts), texts)
    assert probs.shape == (2, len(result.labels)) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    if result.neighbour_weight > 0:  # the graph's neighbours are numpy's, from float16 storage
        train_set = load_examples(FIXTURES / "intents_train.csv", "train")
        val_set = load_examples(FIXTURES / "intents_val.csv", "val")
        pool = [t for t, label in zip(train_set.texts + val_set.texts, train_set.labels + val_set.labels,
                                      strict=True) if label != "oos"]
        assert neighbours is not None
        assert np.allclose(neighbours, neighbour_similarity(encoder.embed(texts), encoder.embed(pool)), atol=2e-3)
    # The same numbers as the trained model computes in numpy before export.
    reloaded = Head(result.path)
    assert np.allclose(reloaded.probabilities(encoder.embed(texts), texts), probs)


def test_second_training_hits_the_embedding_cache(trained, encoder: Encoder) -> None:
    result, cache, folder = trained
    again = train(load_examples(FIXTURES / "intents_train.csv", "train"), None, encoder, cache, folder / "m2.onnx")
    assert result.encoded == 55 and again.encoded == 0
    # Without validation data, temperature and threshold come from cross-validation on the training data.
    assert "cross_validation" in again.metrics and again.temperature != 1.0
    assert 0.0 < again.threshold < 1.0 and again.metrics["cross_validation"]["n"] == 39  # type: ignore[index]
    plain = train(load_examples(FIXTURES / "intents_train.csv", "train"), None, encoder, cache, folder / "m3.onnx",
                  cv_folds=1)
    assert plain.temperature == 1.0 and "cross_validation" not in plain.metrics and plain.neighbour_weight == 0
    assert Head(plain.path).run(encoder.embed(["hello"]), ["hello"])[1] is None  # no neighbours stored


def test_encoder_mismatch_is_refused(trained, encoder: Encoder) -> None:
    result, _, _ = trained
    other = copy.copy(encoder)
    other.sha256 = "0" * 64  # what a different installed encoder looks like
    with pytest.raises(UsageError, match="retrain it: `edgebot intents train DATA --out"):
        IntentClassifier(other, result.path)


def test_not_a_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "m.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(UsageError, match="not a readable edgebot intent model"):
        Head(bad)
    with pytest.raises(UsageError, match="no such intent model"):
        Head(tmp_path / "missing.onnx")


def test_threshold_meets_the_recall_target_with_best_accuracy() -> None:
    labels = ["a", "b", "oos"]
    probs = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.3, 0.4, 0.3]])
    truth = ["a", "a", "b", "oos", "oos"]
    weight, th = calibrate(probs, None, truth, labels, oos_recall_target=1.0)
    assert weight == 0 and decide(probs, labels, th)[0] == ["a", "a", "b", "oos", "oos"]
    _, th_half = calibrate(probs, None, truth, labels, oos_recall_target=0.5)  # the lowest threshold that meets it
    assert decide(probs, labels, th_half)[0] == ["a", "a", "b", "a", "oos"]
    assert 0.4 < th_half < 0.5
    # Without out-of-scope rows: keep 99% of the right answers.
    th_in, _ = choose_threshold(np.array([0.9, 0.6, 0.7]), np.array([True, True, True]), np.zeros(3, bool), 0.8)
    assert 0.6 <= th_in < 0.61


def test_neighbours_join_the_score_when_they_separate_better() -> None:
    # The classifier is as sure about the out-of-scope rows as about the right ones; their neighbours are far.
    labels = ["a", "b", "oos"]
    probs = np.array([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.85, 0.1, 0.05], [0.9, 0.05, 0.05], [0.1, 0.85, 0.05]])
    truth = ["a", "b", "a", "oos", "oos"]
    neighbours = np.array([0.8, 0.75, 0.7, 0.2, 0.3])
    weight, th = calibrate(probs, neighbours, truth, labels, oos_recall_target=1.0)
    assert weight > 0
    assert decide(probs, labels, th, neighbours, weight)[0] == truth
    assert decide(probs, labels, th)[0] != truth  # the top probability alone cannot do it at that threshold


def test_neighbour_similarity_is_the_mean_of_the_k_nearest() -> None:
    memory = np.eye(4)
    x = np.array([[1.0, 0.0, 0.0, 0.0], [0.6, 0.8, 0.0, 0.0]])
    assert np.allclose(neighbour_similarity(x, memory, k=2), [0.5, 0.7])
    assert np.allclose(neighbour_similarity(x, memory[:1], k=3), [1.0, 0.6])  # fewer rows than K
    assert np.allclose(neighbour_similarity(x, memory[:0]), [0.0, 0.0])


def test_metrics() -> None:
    m = intent_metrics(["a", "a", "b", "oos", "oos"], ["a", "b", "b", "oos", "a"])
    assert m["in_scope_accuracy"] == pytest.approx(2 / 3)
    assert m["oos_recall"] == 0.5 and m["oos_precision"] == 1.0 and m["n"] == 5
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)


def test_cli_train_eval_predict(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = cli_home / "m.onnx"
    assert main(["intents", "train", str(FIXTURES / "intents_train.csv"), "--val", str(FIXTURES / "intents_val.csv"),
                 "--out", str(model), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["labels"] == 7 and trained["train_seconds"] > 0
    assert main(["intents", "eval", str(FIXTURES / "intents_val.csv"), "--model", str(model), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert set(evaluated) == {"in_scope_accuracy", "oos_recall", "oos_precision", "macro_f1", "n",
                              "latency_ms_p50", "latency_ms_p95"}
    assert evaluated["n"] == 16 and evaluated["in_scope_accuracy"] >= 0.9
    assert main(["intents", "predict", "where is my package", "--model", str(model)]) == 0
    assert capsys.readouterr().out.startswith("order_status (confidence")


def test_near_duplicates_share_a_fold_and_classes_spread_evenly() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(30, 16))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    twins = base + 0.01 * rng.normal(size=base.shape)  # a paraphrase of each text
    x = np.vstack([base, twins])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.array([i % 3 for i in range(30)] * 2)
    fold = grouped_folds(x, y, 5)
    assert all(fold[i] == fold[i + 30] for i in range(30))
    for label in range(3):
        assert np.bincount(fold[y == label], minlength=5).tolist() == [4] * 5  # 10 pairs of one class over 5 folds
    apart = grouped_folds(x, y, 5, near=1.01)  # no grouping: twins may be split
    assert any(apart[i] != apart[i + 30] for i in range(30))
