from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ssv.config import (
    EXPERIMENTS_DIR,
    INHERIT_KEY,
    USER_EXPERIMENTS_VARIABLE,
    ConfigError,
    SSVConfig,
    experiment_path,
    from_container,
    load_config,
    read_yaml,
    to_container,
)

EXPERIMENT_FILES = sorted(EXPERIMENTS_DIR.glob("*.yaml")) + sorted((EXPERIMENTS_DIR / "profiles").glob("*.yaml"))


def faces(*overrides, profile="paper"):
    return load_config(experiment_path("faces"), list(overrides), profile=profile)


def test_faces_config_holds_the_recipe():
    config = faces()
    assert (config.loss.style, config.loss.view, config.loss.imc, config.loss.sym) == (0.8, 0.8, 0.16, 0.4)
    assert (config.views.azimuth, config.views.elevation, config.views.tilt) == (1.4, 1.2, 0.75)
    assert config.optim.lr == 5e-4 and list(config.optim.betas) == [0.0, 0.99]
    assert config.optim.mapping_lr_mult == 0.01 and config.optim.ema_decay == 0.999
    assert config.model.image_size == 128 and config.model.code_size == 64 and config.model.width == 1.0


@pytest.mark.parametrize("path", sorted(EXPERIMENTS_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_experiment_file_loads(path: Path):
    config = load_config(path, profile="small")
    assert config.category in ("faces", "cars", "buses")


def settings(node: dict, prefix: str = "") -> list[tuple[str, object]]:
    """``(dotted key, value)`` of every leaf of a nested mapping; lists are leaves."""
    found = []
    for key, value in node.items():
        if isinstance(value, dict):
            found += settings(value, f"{prefix}{key}.")
        else:
            found.append((f"{prefix}{key}", value))
    return found


def restated_settings(path: Path) -> list[str]:
    """The keys a config file sets to the value it would have without them: the schema's, or its parent's."""
    own = OmegaConf.to_container(OmegaConf.load(path))
    parent = own.pop(INHERIT_KEY, None)
    base = OmegaConf.structured(SSVConfig)
    if parent is not None:
        base = OmegaConf.merge(base, read_yaml(path.parent / parent))
    return [key for key, value in settings(own) if OmegaConf.select(base, key) == value]


@pytest.mark.parametrize("path", EXPERIMENT_FILES, ids=lambda p: str(p.relative_to(EXPERIMENTS_DIR)))
def test_experiment_files_and_profiles_state_only_what_differs_from_the_defaults(path: Path):
    restated = restated_settings(path)
    assert not restated, f"{path} restates the schema's defaults (src/ssv/config.py) or its parent's: {restated}"


def test_a_restated_default_or_parent_setting_is_found(tmp_path):
    (tmp_path / "parent.yaml").write_text("loss: {imc: 0.0}\n")
    (tmp_path / "child.yaml").write_text("inherit: parent.yaml\nloss: {imc: 0.0, sym: 0.4, view: 0.5}\n"
                                         "optim: {betas: [0.0, 0.99]}\n")
    assert restated_settings(tmp_path / "child.yaml") == ["loss.imc", "loss.sym", "optim.betas"]


def test_ablations_inherit_and_switch_terms_off():
    no_imc = load_config(experiment_path("faces-no-imc"), profile="paper")
    no_sym_imc = load_config(experiment_path("faces-no-sym-imc"), profile="paper")
    assert no_imc.loss.imc == 0 and no_imc.loss.sym == 0.4 and no_imc.category == "faces"
    assert no_sym_imc.loss.imc == 0 and no_sym_imc.loss.sym == 0
    cars = load_config(experiment_path("cars-no-sym-imc"), profile="paper")
    assert cars.category == "cars" and cars.views.azimuth > 3.0


def test_small_profile_shrinks_the_model_and_overrides_win():
    small = faces(profile="small")
    assert small.profile == "small" and small.model.image_size == 64 and small.model.width < 1
    assert faces("model.image_size=32", profile="small").model.image_size == 32


def test_default_profile_on_cpu_is_the_cpu_recipe_and_says_so(caplog):
    config = load_config(experiment_path("faces"))
    assert config.profile == "cpu"
    assert "'cpu' profile" in caplog.text and "PROFILE=paper" in caplog.text


def test_the_cpu_profile_changes_only_its_documented_settings():
    cpu, paper = faces(profile="cpu"), faces(profile="paper")
    assert cpu.views == paper.views
    changed_optim = {key for key in paper.optim if cpu.optim[key] != paper.optim[key]}
    assert changed_optim == {"lr"} and cpu.optim.lr > paper.optim.lr
    changed_weights = {key for key in paper.loss if cpu.loss[key] != paper.loss[key]}
    assert changed_weights == {"imc", "gen_flip"} and cpu.imc.features == "pixels" and cpu.loss.imc > paper.loss.imc
    assert cpu.loss.gen_flip == 0 and paper.loss.gen_flip > 0
    assert (cpu.data.shared_augmentations, paper.data.shared_augmentations) == (["illumination"], [])
    assert cpu.model.style_init_scale < 1 and paper.model.style_init_scale == 1
    assert paper.model.volume_size == 16 and paper.data.fakes_per_real == 1
    assert (cpu.model.rotation_sampling, paper.model.rotation_sampling) == ("bilinear", "nearest")
    assert cpu.model.viewpoint_full_resolution and not paper.model.viewpoint_full_resolution
    assert (cpu.trainer.precision, paper.trainer.precision) == ("auto", "32-true")


def test_unknown_key_fails_naming_it():
    with pytest.raises(ConfigError, match="loss.imcc"):
        faces("loss.imcc=0.1")


def test_ill_typed_value_fails_naming_it():
    with pytest.raises(ConfigError, match="data.batch_size"):
        faces("data.batch_size=many")


@pytest.mark.parametrize(
    "override, key",
    [
        ("imc.features=vgg", "imc.features"),
        ("model.rotation_sampling=cubic", "model.rotation_sampling"),
        ("model.image_size=100", "model.image_size"),
        ("loss.sym=-1", "loss.sym"),
        ("data.batch_size=0", "data.batch_size"),
        ("data.fakes_per_real=0", "data.fakes_per_real"),
        ("model.volume_size=12", "model.volume_size"),
        ("model.sign_readout=mean", "model.sign_readout"),
        ("imc.sign_readout=soft", "imc.sign_readout"),
        ("model.style_init_scale=0", "model.style_init_scale"),
        ("model.image_style_init_scale=-1", "model.image_style_init_scale"),
        ("model.width=0", "model.width"),
        ("model.viewpoint_width=-0.5", "model.viewpoint_width"),
        ("optim.gradient_penalty_every=0", "optim.gradient_penalty_every"),
        ("trainer.max_time=60", "trainer.max_time"),
        ("data.shared_augmentations=[color,flip]", "data.shared_augmentations"),
    ],
)
def test_bad_values_fail_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        faces(override)


def test_an_image_style_scale_without_image_styles_fails_naming_the_key():
    with pytest.raises(ConfigError, match=r"model\.image_style_init_scale.*image_styles=false"):
        faces("model.image_styles=false", "model.image_style_init_scale=1.0")


def test_unknown_key_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(f"inherit: {experiment_path('faces')}\nmodel: {{depth: 3}}\n")
    with pytest.raises(ConfigError, match=r"mine\.yaml.*model\.depth"):
        load_config(path, profile="paper")


def test_unknown_experiment_lists_the_known_ones():
    with pytest.raises(ConfigError, match="faces"):
        experiment_path("horses")


def test_a_users_experiment_folder_comes_first_and_its_files_build_on_the_shipped_ones(tmp_path, monkeypatch):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "small.yaml").write_text("model: {image_size: 256}\n")
    (tmp_path / "faces.yaml").write_text("inherit: faces.yaml\nloss: {imc: 0.0}\n")
    (tmp_path / "mine.yaml").write_text("inherit: faces.yaml\ncategory: cars\n")
    monkeypatch.setenv(USER_EXPERIMENTS_VARIABLE, str(tmp_path))
    assert experiment_path("faces") == tmp_path / "faces.yaml"
    assert experiment_path("cars") == EXPERIMENTS_DIR / "cars.yaml"
    mine = load_config(experiment_path("mine"), profile="small")
    assert (mine.category, mine.loss.imc, mine.model.image_size) == ("cars", 0.0, 256)
    with pytest.raises(ConfigError, match="Known: .*faces.*mine"):
        experiment_path("horses")


def test_a_missing_user_experiment_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(USER_EXPERIMENTS_VARIABLE, str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match=f"{USER_EXPERIMENTS_VARIABLE}=.*nope"):
        experiment_path("faces")


def test_container_round_trip_is_plain_and_validated():
    config = faces()
    container = to_container(config)
    assert isinstance(container, dict) and not OmegaConf.is_config(container)
    assert from_container(container) == config
    container["loss"]["bogus"] = 1
    with pytest.raises(ConfigError, match="loss.bogus"):
        from_container(container)


def test_an_evaluation_that_would_leave_no_test_images_fails_before_training():
    with pytest.raises(ConfigError, match="evaluation.n_calibration"):
        faces("data.synthetic.num_test=50")
    assert faces("data.synthetic.num_test=50", "evaluation.after_training=false").evaluation.n_calibration == 100
    assert faces("data.synthetic.num_test=50", "trainer.fast_dev_run=true").trainer.fast_dev_run


def test_an_inherit_cycle_names_its_files(tmp_path):
    (tmp_path / "a.yaml").write_text("inherit: b.yaml\n")
    (tmp_path / "b.yaml").write_text("inherit: a.yaml\ncategory: cars\n")
    with pytest.raises(ConfigError) as error:
        load_config(tmp_path / "a.yaml", profile="small")
    assert str(error.value) == f"inherit: cycle {tmp_path / 'a.yaml'} -> {tmp_path / 'b.yaml'} -> {tmp_path / 'a.yaml'}"


@pytest.mark.parametrize("override, named", [("loss.sym=abc", "loss.sym"), ("loss.nope=1", "loss.nope"),
                                             ("data=3", "DataConfig"), ("trainer.devices=[1", "trainer.devices=[1")])
def test_config_errors_are_one_line_without_omegaconf_internals(override, named):
    with pytest.raises(ConfigError) as error:
        faces(override)
    message = str(error.value)
    assert named in message
    assert "\n" not in message and "full_key" not in message and "object_type" not in message


@pytest.mark.parametrize("override, key", [("loss.sym=nan", "loss.sym"), ("optim.lr=inf", "optim.lr"),
                                           ("optim.betas=[0,-inf]", r"optim.betas\[1\]")])
def test_non_finite_numbers_are_rejected(override, key):
    with pytest.raises(ConfigError, match=f"'{key}': .* is not a finite number"):
        faces(override)
