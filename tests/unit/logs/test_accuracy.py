import pytest

from opsassist.streams.logs import grouping_accuracy, parsing_accuracy


def test_a_line_counts_only_if_its_whole_group_is_exactly_right() -> None:
    truth = ["A", "A", "B", "B", "C"]
    # A is split in two (both lines wrong); B is exact; C is merged with nothing else: exact.
    predicted = ["x", "y", "z", "z", "w"]
    assert grouping_accuracy(truth, predicted) == pytest.approx(3 / 5)
    # Merging B and C makes all three of their lines wrong.
    assert grouping_accuracy(truth, ["x", "x", "z", "z", "z"]) == pytest.approx(2 / 5)


def test_parsing_accuracy_compares_template_text_up_to_whitespace() -> None:
    truth = ["open <*>", "close  <*>", "read <*>"]
    assert parsing_accuracy(truth, ["open <*>", "close <*>", "read <*>:<*>"]) == pytest.approx(
        2 / 3
    )


def test_lengths_must_agree() -> None:
    with pytest.raises(ValueError):
        grouping_accuracy(["A"], [])
