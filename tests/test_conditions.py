import pytest

from insider.conditions import (
    GOAL_VALUES,
    Condition,
    GridEntry,
    base_grid,
    expand_grid,
    opposite_value,
    parse_condition_id,
)
from insider.errors import InsiderError


def test_base_grid_has_234_conditions_with_unique_ids():
    grid = base_grid()
    assert len(grid) == 3 * (3 * 8 + 2) * 3 == 234
    assert len({c.id for c in grid}) == 234


def test_valueless_goal_types_take_goal_value_none_only():
    grid = base_grid()
    for c in grid:
        if c.goal_type in ("none", "ambiguous"):
            assert c.goal_value == "none"
        else:
            assert c.goal_value in GOAL_VALUES and c.goal_value != "none"


@pytest.mark.parametrize(
    "condition_id",
    [
        "blackmail_explicit-america_replacement",
        "leaking_none-none_none_dont_prod",
        "murder_swap-collectivism_restriction_goal",
        "blackmail_latent-safety_none_prod_notice",
        "leaking_ambiguous-none_replacement_notice",
        "murder_explicit-ethical_none_dont_prod_notice",
    ],
)
def test_id_round_trips(condition_id):
    condition = parse_condition_id(condition_id)
    assert condition.id == condition_id
    assert Condition.parse(condition.id) == condition


def test_every_variant_of_every_base_condition_round_trips():
    for base in base_grid():
        for mitigation in ("none", "dont", "goal"):
            for scratchpad in (True, False):
                for notice in (True, False):
                    c = base.model_copy(update=dict(mitigation=mitigation, scratchpad=scratchpad, awareness_notice=notice))
                    assert parse_condition_id(c.id) == c


def test_suffixes_appear_only_when_not_default():
    c = Condition(scenario="murder", goal_type="explicit", goal_value="america", urgency="replacement")
    assert c.id == "murder_explicit-america_replacement"
    c2 = c.model_copy(update=dict(mitigation="dont", scratchpad=False, awareness_notice=True))
    assert c2.id == "murder_explicit-america_replacement_dont_prod_notice"


@pytest.mark.parametrize(
    "bad, names",
    [
        ("espionage_explicit-america_none", "scenario 'espionage'"),
        ("blackmail_implicit-america_none", "goal type 'implicit'"),
        ("blackmail_explicit-canada_none", "goal value 'canada'"),
        ("blackmail_explicit-america_soon", "urgency 'soon'"),
        ("blackmail_explicit-america_none_maybe", "suffix 'maybe'"),
        ("blackmail_explicit-america_none_prod_dont", "out of order"),
        ("blackmail_explicit-america_none_dont_goal", "out of order"),
        ("blackmail_explicit-none_none", "needs one of"),
        ("blackmail_none-america_none", "takes goal_value 'none' only"),
        ("blackmail-explicit-america", "malformed condition id"),
    ],
)
def test_invalid_ids_are_refused_naming_the_bad_part(bad, names):
    with pytest.raises(InsiderError) as info:
        parse_condition_id(bad)
    message = str(info.value)
    assert names in message
    assert "\n" not in message


def test_each_grid_entry_is_its_own_product_not_merged():
    entries = [
        GridEntry(scenarios=["blackmail"], goal_types=["explicit"], goal_values=["america"], urgencies=["replacement"]),
        GridEntry(scenarios=["leaking"], goal_types=["none"], urgencies=["none"]),
    ]
    ids = [c.id for c in expand_grid(entries)]
    # a merged product would also give leaking_explicit-america_* and blackmail_none-none_*
    assert ids == ["blackmail_explicit-america_replacement", "leaking_none-none_none"]


def test_union_is_deduplicated_in_first_seen_order():
    a = GridEntry(scenarios=["blackmail"], goal_types=["explicit", "none"], goal_values=["america"], urgencies=["replacement", "none"])
    b = GridEntry(scenarios=["blackmail"], goal_types=["none"], urgencies=["replacement"], mitigations=["none", "dont"])
    ids = [c.id for c in expand_grid([a, b])]
    assert ids == [
        "blackmail_explicit-america_replacement",
        "blackmail_explicit-america_none",
        "blackmail_none-none_replacement",
        "blackmail_none-none_none",
        "blackmail_none-none_replacement_dont",
    ]


def test_valueless_goal_types_ignore_goal_values_in_a_product():
    entry = GridEntry(scenarios=["murder"], goal_types=["ambiguous"], goal_values=["america", "global"], urgencies=["none"])
    assert [c.id for c in entry.expand()] == ["murder_ambiguous-none_none"]


def test_grid_entry_can_list_ids_directly():
    entry = GridEntry(conditions=["leaking_explicit-america_none_dont", "blackmail_none-none_none"])
    assert [c.id for c in entry.expand()] == ["leaking_explicit-america_none_dont", "blackmail_none-none_none"]


@pytest.mark.parametrize(
    "fields, fragment",
    [
        (dict(scenarios=["blackmail"], goal_types=["explicit"], urgencies=["none"]), "need goal_values"),
        (dict(scenarios=["blackmail"], goal_types=["explicit"], goal_values=["none"], urgencies=["none"]), "goal_value 'none'"),
        (dict(scenarios=["blackmail"], goal_types=["none"]), "needs urgencies"),
        (dict(), "needs scenarios"),
    ],
)
def test_incomplete_or_contradictory_entries_are_refused(fields, fragment):
    with pytest.raises(ValueError) as info:
        GridEntry(**fields)
    assert fragment in str(info.value)


def test_opposite_values_form_four_pairs():
    assert opposite_value("america") == "global"
    assert opposite_value("collectivism") == "individualism"
    with pytest.raises(InsiderError):
        opposite_value("none")
