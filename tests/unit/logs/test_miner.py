import gc
import json
import random

import pytest

from opsassist.streams.logs import IdChange, MinerStateError, TemplateMiner, template_id
from opsassist.streams.logs._masking import MaskingRules

USERS = ["alice", "bob", "carol", "dave", "erin"]


def lines() -> list[str]:
    out = [
        f"Accepted password for {user} from 10.0.0.{i} port {4000 + i}"
        for i, user in enumerate(USERS)
    ]
    out += [f"Session {i} closed normally" for i in range(5)]
    out += ["Stream flag down true", "Stream flag down false"] * 3
    return out


def final_templates(miner: TemplateMiner) -> set[str]:
    return {info.template for info in miner.templates()}


def test_a_word_that_takes_many_values_generalizes_and_the_change_is_reported() -> None:
    miner = TemplateMiner("ssh")
    matches = [miner.add(line) for line in lines()[:5]]
    changes = [change for match in matches for change in match.changes]
    assert changes, "the third distinct user should have generalized the template"
    final = "Accepted password for <*> from <*> port <*>"
    assert all(isinstance(c, IdChange) and c.new_template == final for c in changes)
    relabel = {c.old_id: c.new_id for c in changes}
    labels = {relabel.get(m.template_id, m.template_id) for m in matches}
    assert labels == {template_id("ssh", final)}


def test_a_word_that_takes_two_values_stays_a_constant() -> None:
    miner = TemplateMiner("ui")
    for line in lines():
        miner.add(line)
    assert {"Stream flag down true", "Stream flag down false"} <= final_templates(miner)


def test_ids_depend_on_content_not_on_arrival_order() -> None:
    first, second = TemplateMiner("svc"), TemplateMiner("svc")
    shuffled = lines()
    random.Random(3).shuffle(shuffled)
    for line in lines():
        first.add(line)
    for line in shuffled:
        second.add(line)
    assert {i.template_id for i in first.templates()} == {i.template_id for i in second.templates()}
    assert template_id("svc", "x") != template_id("other", "x")


def test_state_round_trip_gives_the_same_ids_and_matches() -> None:
    original = TemplateMiner("svc", max_templates=50)
    for line in lines():
        original.add(line)
    restored = TemplateMiner.from_state(original.to_state())
    assert restored.templates() == original.templates()
    probe = "Accepted password for zoe from 10.1.1.1 port 9"
    assert restored.add(probe).template_id == original.add(probe).template_id


def test_state_of_an_unknown_version_is_refused() -> None:
    state = TemplateMiner("svc").to_state()
    state["version"] = 999
    with pytest.raises(MinerStateError):
        TemplateMiner.from_state(state)
    with pytest.raises(MinerStateError):
        TemplateMiner.from_state({"version": 1})


def test_the_cap_evicts_the_least_recently_used_template() -> None:
    miner = TemplateMiner("svc", max_templates=3)
    for word in ["alpha", "beta", "gamma"]:
        miner.add(f"{word} started")
    miner.add("alpha started")  # alpha is now the most recently used
    miner.add("delta stopped")
    held = final_templates(miner)
    assert len(miner) == 3
    assert "beta started" not in held
    assert {"alpha started", "delta stopped"} <= held
    assert miner.evicted == 1


def test_parameters_are_the_values_behind_the_wildcards() -> None:
    miner = TemplateMiner("svc")
    line = "Timeout connecting to db-7:5432 after 30 ms"
    assert miner.add(line).parameters(line) == ("db-7:5432", "30 ms")


def test_a_repeated_line_matches_its_template_without_creating_one() -> None:
    miner = TemplateMiner("svc")
    first = miner.add("cache warmed")
    again = miner.add("cache warmed")
    assert first.is_new and not again.is_new
    assert again.template_id == first.template_id
    assert miner.templates()[0].size == 2


@pytest.mark.parametrize("kwargs", [{"similarity": 0}, {"variants": 0}, {"max_templates": 0}])
def test_settings_out_of_range_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TemplateMiner("svc", **kwargs)  # type: ignore[arg-type]


def test_a_restored_miner_decides_as_the_original_even_while_evicting() -> None:
    rng = random.Random(8)
    words = ["disk", "queue", "cache", "auth", "db", "api", "cron", "mail"]
    stream = [
        f"{rng.choice(words)} {rng.choice(words)} failed for user{rng.choice('abcdefgh')} "
        f"after {rng.randrange(100)} ms on {rng.choice(words)}"
        for _ in range(3000)
    ]
    continuous = TemplateMiner("svc", max_templates=25)
    expected = [continuous.add(line).template_id for line in stream]
    restarted = TemplateMiner("svc", max_templates=25)
    got = []
    for index, line in enumerate(stream):
        if index % 97 == 0:
            restarted = TemplateMiner.from_state(restarted.to_state())
        got.append(restarted.add(line).template_id)
    assert continuous.evicted > 0
    assert got == expected


def test_recently_used_lists_the_latest_templates_most_recent_last() -> None:
    miner = TemplateMiner("svc")
    for message in ["disk full on sda", "queue rejected", "disk full on sda", "cache cold"]:
        miner.add(message)
    assert [t.template for t in miner.recently_used(2)] == ["disk full on sda", "cache cold"]
    assert [t.size for t in miner.recently_used(10)] == [1, 2, 1]
    assert miner.recently_used(0) == []


def test_evicted_templates_are_freed_at_once_not_left_to_the_cycle_collector() -> None:
    # A template keeps the match it returns for its lines; were that match to point back to the
    # template, every evicted template would wait in a reference cycle for the collector.
    miner = TemplateMiner("svc", max_templates=2)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    gc.collect()
    gc.disable()
    try:
        for first in words:
            for second in words:
                miner.add(f"{first} {second} started")
        assert miner.evicted > 0
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_miner_with_the_digit_rule_off_keeps_lines_that_differ_in_digits_apart() -> None:
    # The shape caches treat digits alike; with the digit rule off they must not answer.
    miner = TemplateMiner("svc", masking=MaskingRules(digits=False))
    first = miner.add("user 12 logged in")
    second = miner.add("user 13 logged in")
    assert second.is_new
    assert (first.template, second.template) == ("user 12 logged in", "user 13 logged in")


def test_switched_off_rules_survive_the_state_round_trip() -> None:
    miner = TemplateMiner("svc", masking=MaskingRules(units=False, runs=False))
    miner.add("wrote 12 KB")
    restored = TemplateMiner.from_state(json.loads(json.dumps(miner.to_state())))
    assert restored.masking == MaskingRules(units=False, runs=False)
    assert restored.add("wrote 7 KB").template == "wrote <*> KB"
