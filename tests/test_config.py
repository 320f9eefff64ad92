"""The settings schema: every setting once, with a default that passes its own check."""

import dataclasses

import pytest

from weighted_bert.config import RunConfig
from weighted_bert.errors import SettingError
from weighted_bert.loss_settings import CLASS_WEIGHTS_BY_LOSS, LOSS_SETTINGS, loss_defaults
from weighted_bert.losses import available_losses, get_loss, loss_options
from weighted_bert.scoring_config import ScoreConfig
from weighted_bert.settings import default_of


@pytest.mark.parametrize("cls", [RunConfig, ScoreConfig])
def test_every_setting_has_help_a_group_and_a_default_that_passes_its_check(cls):
    for f in dataclasses.fields(cls):
        assert f.metadata.get("help"), f.name
        assert f.metadata["group"] in cls.GROUP_ORDER, f.name
    required = {f.name: "x" for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
    assert set(required) == ({"model", "output_dir"} if cls is RunConfig else {"model", "data"})
    config = cls(**required)  # every default is checked on the way in
    resolved = {"backend": "torch"}  # auto, made concrete with the settings: "x" holds no ONNX export
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            assert getattr(config, f.name) == resolved.get(f.name, f.default)


def test_the_schema_names_exactly_the_registered_losses_and_what_each_reads():
    assert available_losses() == sorted(LOSS_SETTINGS)
    for name in LOSS_SETTINGS:
        assert set(loss_options(name)) == set(LOSS_SETTINGS[name])


def test_loss_defaults_come_from_the_schema():
    assert loss_defaults("focal") == {"focal_gamma": default_of(RunConfig, "focal_gamma"), "class_weights": "none",
                                      "weight_normalization": "sample_mean", "class_weight_beta": 0.9999,
                                      "labels": None}
    assert get_loss("focal", [3, 1]).gamma == default_of(RunConfig, "focal_gamma")
    assert get_loss("ldam", [16, 1]).scale == default_of(RunConfig, "ldam_scale")
    assert loss_options("weighted_ce")["class_weights"] == CLASS_WEIGHTS_BY_LOSS["weighted_ce"] == "inverse"


def test_a_run_passes_its_loss_exactly_the_settings_it_reads():
    config = RunConfig(model="m", output_dir="o", loss="focal", focal_gamma=1.0, la_tau=3.0)
    assert config.loss_settings(["a", "b"]) == {"focal_gamma": 1.0, "class_weights": "none",
                                                "weight_normalization": "sample_mean", "class_weight_beta": 0.9999,
                                                "labels": ["a", "b"]}
    assert RunConfig(model="m", output_dir="o", loss="ce").loss_settings() == {"label_smoothing": 0.0}


def test_losses_check_their_settings_with_the_schema():
    with pytest.raises(SettingError, match=r"focal gamma -1.0 is not >= 0 \(setting focal_gamma, --focal-gamma\)"):
        get_loss("focal", [3, 1], focal_gamma=-1)
    with pytest.raises(SettingError, match="dice alpha"):
        get_loss("dice", [3, 1], dice_alpha=-0.5)


def test_settings_that_must_agree():
    with pytest.raises(SettingError, match="few threshold 70 is above many_threshold 60"):
        RunConfig(model="m", output_dir="o", few_threshold=70)


def test_replace_checks_again():
    config = RunConfig(model="m", output_dir="o")
    assert dataclasses.replace(config, max_seq_length="64").max_seq_length == 64
    with pytest.raises(SettingError):
        dataclasses.replace(config, sampling="oversample")


def test_class_weights_with_a_loss_that_does_not_read_them_is_refused():
    with pytest.raises(SettingError, match="class weights 'balanced' is not read by loss ce; the losses that take "
                                           "class weights: weighted_ce, focal"):
        RunConfig(model="m", output_dir="o", loss="ce", class_weights="balanced")
    assert RunConfig(model="m", output_dir="o", loss="focal", class_weights="balanced").class_weights == "balanced"


def test_checkpoints_fall_on_evaluations():
    with pytest.raises(SettingError, match="save steps 7 is not a multiple of eval_steps 5"):
        RunConfig(model="m", output_dir="o", eval_steps=5, save_steps=7)
    assert RunConfig(model="m", output_dir="o", eval_steps=5, save_steps=10).save_steps == 10


def test_a_recipe_fills_what_is_not_given_and_flags_win():
    from weighted_bert.config import RunConfig
    from weighted_bert.recipes import RECIPES
    from weighted_bert.settings import build, default_of

    base = {"model": "m", "output_dir": "o"}
    seed = build(RunConfig, {**base, "recipe": "seed"})
    assert (seed.loss, seed.class_weights, seed.weight_normalization, seed.target_prior) == \
        ("weighted_ce", "inverse", "none", "none")
    mixed = build(RunConfig, {**base, "recipe": "class_balanced", "sampling": "sqrt"})
    assert (mixed.loss, mixed.sampling) == ("ce", "sqrt")
    other_loss = build(RunConfig, {**base, "recipe": "seed", "loss": "ce"})  # the seed's weights go with its loss
    assert (other_loss.loss, other_loss.class_weights, other_loss.target_prior) == ("ce", None, "none")
    # a flag given with the default's value still wins over the recipe, and stays so in copies
    assert other_loss.loss == default_of(RunConfig, "loss")
    assert other_loss.with_task(False).loss == other_loss.replace(max_seq_length=32).loss == "ce"
    focal = build(RunConfig, {**base, "recipe": "seed", "loss": "focal"})  # focal reads the seed's class weights
    assert (focal.loss, focal.class_weights) == ("focal", "inverse")
    for name, preset in RECIPES.items():  # every preset is a valid run
        config = build(RunConfig, {**base, "recipe": name})
        assert all(getattr(config, k) == v for k, v in preset.items()), name


@pytest.mark.parametrize("values, problem", [
    ({"recipe": "fast"}, "recipe 'fast' is not one of seed, "),
    ({"target_prior": "natural"}, "target prior 'natural' is neither one of dev, train, uniform, none nor an existing"),
    ({"recipe": "seed", "loss": "ce", "class_weights": "sqrt_inverse"}, "class weights 'sqrt_inverse' is not read"),
])
def test_a_bad_recipe_or_target_prior_is_one_line(values, problem):
    from weighted_bert.config import RunConfig
    from weighted_bert.errors import UserError
    from weighted_bert.settings import build

    with pytest.raises(UserError) as caught:
        build(RunConfig, {"model": "m", "output_dir": "o", **values})
    assert problem in str(caught.value)


def test_the_default_recipe_is_the_one_the_benchmark_names():
    """benchmarks/defaults.py writes the winner of its rule to results/defaults.json; the
    defaults of `train` (and the `recommended` preset) are that recipe and target prior."""
    import json
    from pathlib import Path

    from weighted_bert.recipes import RECIPES
    from weighted_bert.settings import build
    from weighted_bert.training.runner import target_prior

    result = json.loads((Path(__file__).parents[1] / "benchmarks" / "results" / "defaults.json").read_text())
    config = build(RunConfig, {"model": "m", "output_dir": "o"})
    for name, value in result["settings"].items():
        assert getattr(config, name) == value, name
    assert target_prior(config, dev=object()) == result["target_prior"]
    assert {**RECIPES["recommended"]} == {**result["settings"], "target_prior": result["target_prior"]}


def test_the_multi_label_default_is_the_recipe_the_benchmark_recommends():
    """benchmarks/multilabel.py writes, per data set (and budget), each recipe's held-out dev macro-F1 at
    its kept thresholds; the multi-label default is the recipe with the best mean of it over
    the data sets, among the recipes measured on all of them. Held-out sets (results/holdout_*)
    play no part."""
    import json
    from pathlib import Path

    from weighted_bert.recipes import MULTI_LABEL_RECIPE, RECIPES

    results = [json.loads(p.read_text()) for p in sorted((Path(__file__).parents[1] / "benchmarks" / "results")
                                                         .glob("multilabel*.json"))]
    assert len(results) >= 2
    dev = [{r["recipe"]: r["dev_macro_f1_held_out"] for r in result["rows"] if r["decision"] == "kept"}
           for result in results]
    everywhere = set.intersection(*(set(d) for d in dev))
    best = max(everywhere, key=lambda recipe: sum(d[recipe] for d in dev))
    assert MULTI_LABEL_RECIPE == best
    config = RunConfig(model="m", output_dir="o", multi_label=True)
    for name, value in RECIPES[best].items():
        assert getattr(config, name) == value, name


def test_the_recipe_line_names_the_settings_that_act():
    """``train`` prints the recipe; beta shows only where a weight scheme uses it (effective numbers, cb_ntr)."""
    def line(**settings):
        return RunConfig(model="m", output_dir="o", **settings).recipe_text()

    assert line(loss="bce") == "loss bce, pos weight none, sampling random"
    assert line(loss="bce", pos_weight="effective_number") == (
        "loss bce, pos weight effective_number, class weight beta 0.9999, sampling random")
    assert "class weight beta" not in line(loss="weighted_ce", class_weights="inverse")
    assert "class weight beta 0.999" in line(loss="weighted_ce", class_weights="effective_number",
                                              class_weight_beta=0.999)
    assert "class weight beta 0.9999" in line(loss="cb_ntr")


def test_a_multi_label_task_trains_its_head_faster_unless_told():
    from weighted_bert.config import MULTI_LABEL_HEAD_LEARNING_RATE, RunConfig
    from weighted_bert.settings import build

    single = build(RunConfig, {"model": "m", "output_dir": "o"})
    assert single.head_learning_rate == 1e-2
    assert single.with_task(True).head_learning_rate == MULTI_LABEL_HEAD_LEARNING_RATE == 3e-2
    assert build(RunConfig, {"model": "m", "output_dir": "o", "loss": "bce"}).head_learning_rate == 3e-2
    given = build(RunConfig, {"model": "m", "output_dir": "o", "head_learning_rate": 5e-3})
    assert given.with_task(True).head_learning_rate == 5e-3
    assert build(RunConfig, {"model": "m", "output_dir": "o", "head_learning_rate": "none"}).with_task(
        True).head_learning_rate is None
