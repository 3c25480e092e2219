import re

from hypothesis import given
from hypothesis import strategies as st

from opsassist.streams.logs import WILDCARD, mask_message
from opsassist.streams.logs._masking import MaskingRules


def test_words_with_digits_become_wildcards_and_others_stay() -> None:
    masked = mask_message("Connected to 10.0.0.1 port 22 as alice")
    assert " ".join(masked) == f"Connected to {WILDCARD} port {WILDCARD} as alice"


def test_separators_keep_the_constant_part_of_a_token() -> None:
    assert mask_message("retries=3 status:ok") == ("retries=<*>", "status:ok")


def test_a_unit_after_a_number_is_part_of_the_value() -> None:
    assert mask_message("wrote 12 KB in 30 ms") == mask_message("wrote 7 MB in 2 s")


def test_paths_and_bracketed_values_are_one_variable() -> None:
    assert mask_message("open /var/log/app.log (12 KB)") == ("open", WILDCARD)


def test_lists_of_any_length_share_a_template() -> None:
    assert mask_message("delete blk_1 blk_2 blk_3 done") == mask_message("delete blk_9 done")


def test_a_message_without_digits_is_only_split() -> None:
    assert mask_message("  Connection  closed by peer ") == ("Connection", "closed", "by", "peer")


# The miner caches by the line's shape with each run of digits collapsed to one digit; that is
# sound only if masking cannot tell how many digits a run has, nor which digits they are.
_ALPHABET = "ab0123456789 :=,;()[]{}<>/\\\"'|@#.-_xKBmsµ\u0663"


@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_masking_ignores_how_many_digits_a_run_has(message: str) -> None:
    collapsed = re.sub(r"[0-9]+", "0", message)
    assert mask_message(message) == mask_message(collapsed)


@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_a_caller_that_knows_whether_there_is_a_digit_gets_the_same_tokens(message: str) -> None:
    has_digit = re.search(r"\d", message) is not None
    assert mask_message(message, has_digit) == mask_message(message)


# The benchmark ablates each rule; with every rule on, the ablation's copy of the loop must mask
# exactly as the shipped one, or its figures would measure a different miner.
@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_the_rules_switched_on_one_by_one_mask_as_the_shipped_rules(message: str) -> None:
    assert mask_message(message, rules=MaskingRules()) == mask_message(message)


def test_each_rule_switched_off_changes_only_what_it_rules() -> None:
    message = "wrote 12 KB to /var/log/a (7) ids 1 2 3"
    assert mask_message(message) == ("wrote", "<*>", "to", "<*>", "ids", "<*>")
    assert mask_message(message, rules=MaskingRules(digits=False)) == (
        ("wrote", "12", "KB", "to", "<*>", "(7)", "ids", "1", "2", "3")
    )
    assert mask_message(message, rules=MaskingRules(units=False)) == (
        ("wrote", "<*>", "KB", "to", "<*>", "ids", "<*>")
    )
    assert mask_message(message, rules=MaskingRules(paths=False)) == (
        ("wrote", "<*>", "to", "/var/log/a", "<*>", "ids", "<*>")
    )
    assert mask_message(message, rules=MaskingRules(punctuation=False)) == (
        ("wrote", "<*>", "to", "<*>", "(<*>)", "ids", "<*>")
    )
    assert mask_message(message, rules=MaskingRules(runs=False)) == (
        ("wrote", "<*>", "to", "<*>", "<*>", "ids", "<*>", "<*>", "<*>")
    )
