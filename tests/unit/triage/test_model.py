from __future__ import annotations

import numpy as np
import pytest

from opsassist.streams.triage import (
    InvalidModel,
    ModelSpec,
    NotEnoughTrainingData,
    Ticket,
    TrainingExample,
    TriageModel,
    train_model,
)
from tests.unit.triage.examples import EXAMPLES

FAST = ModelSpec(c_grid=(4.0,))


@pytest.fixture(scope="module")
def model() -> TriageModel:
    return train_model(EXAMPLES, FAST)


def test_model_learns_the_obvious_signals(model: TriageModel) -> None:
    unseen = [
        Ticket("Editor crashes with exception", "It throws an exception and crashes."),
        Ticket("Please add an export option", "It would be great to add export to PDF."),
        Ticket("How do I change the port?", "How can I configure the port? Where is it?"),
    ]
    labels = [p.label for p in model.predict(unseen)]
    assert labels == ["incident", "feature_request", "question"]


def test_probabilities_sum_to_one_per_ticket(model: TriageModel) -> None:
    proba = model.predict_proba([e.ticket for e in EXAMPLES[:5]])
    assert proba.shape == (5, 3)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_explanation_names_the_words_that_pushed_towards_the_class(model: TriageModel) -> None:
    (prediction,) = model.predict([Ticket("The worker crashes", "crashes with an exception")])
    terms = [t.term for t in prediction.terms]
    assert "crashes" in terms or "exception" in terms
    assert all(t.weight > 0 for t in prediction.terms)
    weights = [t.weight for t in prediction.terms]
    assert weights == sorted(weights, reverse=True)


def test_bytes_round_trip_predicts_identically(model: TriageModel) -> None:
    loaded = TriageModel.from_bytes(model.to_bytes())
    tickets = [e.ticket for e in EXAMPLES]
    assert loaded.version == model.version
    assert loaded.classes == model.classes
    assert np.array_equal(loaded.predict_proba(tickets), model.predict_proba(tickets))
    assert loaded.predict(tickets) == model.predict(tickets)


def test_version_changes_with_the_training_data(model: TriageModel) -> None:
    more = [
        *EXAMPLES,
        TrainingExample(Ticket("Add a calendar view", "please add it"), "feature_request"),
    ]
    other = train_model(more, FAST)
    assert other.version != model.version
    assert other.meta["examples"] == len(EXAMPLES) + 1


def test_garbage_bytes_are_refused_with_a_typed_error() -> None:
    with pytest.raises(InvalidModel):
        TriageModel.from_bytes(b"not a model")


def test_training_needs_two_classes() -> None:
    only_one = [e for e in EXAMPLES if e.label == "question"]
    with pytest.raises(NotEnoughTrainingData):
        train_model(only_one, FAST)


def test_two_classes_give_calibrated_binary_probabilities() -> None:
    two = [e for e in EXAMPLES if e.label != "question"]
    binary = train_model(two, FAST)
    (prediction,) = binary.predict([Ticket("Crash with exception", "it crashes")])
    assert binary.classes == ("feature_request", "incident")
    assert prediction.label == "incident"
    assert 0.5 < prediction.confidence < 1.0


def test_the_regularization_is_chosen_by_inner_cross_validation() -> None:
    chosen = train_model(EXAMPLES, ModelSpec(c_grid=(0.01, 10.0)))
    assert chosen.meta["c"] in (0.01, 10.0)
    assert chosen.meta["inner_cv_macro_f1"] is not None


def test_a_training_set_without_shared_words_is_refused_not_crashed() -> None:
    lonely = [
        TrainingExample(Ticket("alpha"), "incident"),
        TrainingExample(Ticket("beta"), "question"),
    ]
    with pytest.raises(NotEnoughTrainingData, match="no usable"):
        train_model(lonely, FAST)
