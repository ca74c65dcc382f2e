"""Typed configuration: the schema, YAML inheritance, profiles and validation before training starts."""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ssv.choices import ROTATION_SAMPLING_MODES, SHARED_AUGMENTATIONS, SIGN_READOUTS, VOLUME_SIZES

log = logging.getLogger(__name__)


def _shipped_experiments() -> Path:
    """The experiment files that come with ssv: a wheel holds them inside the package, a checkout at its top."""
    installed = Path(__file__).resolve().parent / "experiments"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "experiments"


EXPERIMENTS_DIR = _shipped_experiments()
# A user's own folder of experiment files (and profiles/, sweeps/), searched before the shipped ones.
USER_EXPERIMENTS_VARIABLE = "SSV_EXPERIMENTS"
PROFILES = ("paper", "cpu", "small")
INHERIT_KEY = "inherit"


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the key or file at fault."""


@dataclass
class ViewRangeConfig:
    """Half-widths (radians) of the uniform viewpoint distribution the generator samples from."""

    azimuth: float = 1.4
    elevation: float = 1.2
    tilt: float = 0.75


@dataclass
class SyntheticConfig:
    """The embedded procedurally rendered collection used when ``data.root`` is not set."""

    num_train: int = 20000
    num_test: int = 2000
    seed: int = 0
    cache_dir: str = "data/synthetic"
    # Per-angle half-widths in radians; null means the category's default.
    ranges: Optional[list[float]] = None


@dataclass
class DataConfig:
    # A folder of crops (or WebDataset shards); null trains on the embedded synthetic collection.
    root: Optional[str] = None
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    # The release's parser default (its command line uses 2).
    batch_size: int = 32
    # Batches of generated images per real batch in V's step: all teach V style and viewpoint (L_z, L_v), the
    # first one alone is the critic's. 1 is the release. Fakes are drawn without gradients, so more are cheap.
    fakes_per_real: int = 1
    num_workers: int = 2
    color_jitter: float = 0.0
    # Augmentations of every image V sees in training, real and generated alike, differentiable so that S learns
    # through them (src/ssv/augmentation.py): any of color, translation, cutout. Empty: none, as in the release.
    shared_augmentations: list[str] = field(default_factory=list)


@dataclass
class ModelConfig:
    image_size: int = 128
    width: float = 1.0
    # V's width factor, if it differs from S's (V is also the critic); null: ``width``, as in the release.
    viewpoint_width: Optional[float] = None
    # V sees every pixel: its first full-resolution block runs, where the release's fade-in leftover (alpha 0)
    # discards it and V starts from the image at half resolution. false: the release.
    viewpoint_full_resolution: bool = False
    code_size: int = 64
    mapping_layers: int = 8
    rotation_sampling: str = "nearest"
    # Multiplies S's AdaIN style weights at initialisation; 1 is the release. Below 1 every style starts by
    # turning its volume the same way, which shortens the start in which V cannot read viewpoints.
    style_init_scale: float = 1.0
    # The same for the 2D blocks alone, which style the image after the turn; null: ``style_init_scale``.
    image_style_init_scale: Optional[float] = None
    # false: S's 2D blocks after the projection are unstyled and z2 is unused, so that every colour that differs
    # between styles is drawn in the 3D volume and turns with it (the hair stays on the head) rather than being
    # painted onto the image after the turn; L_z then reads z1 alone. true: the release.
    image_styles: bool = True
    # Side of S's rotated 3D volume: 16 (the release) or 8, an eighth of the 3D work, for small images.
    volume_size: int = 16
    head_dropout: float = 0.5
    # Samples per minibatch-stddev group in V; null: the whole (per-device) batch, as in the release.
    stddev_group: Optional[int] = None
    # How a trained V's angle takes its sign from the quadrant head (evaluation, predict, export; training's L_imc
    # keeps the release's): "argmax", the likeliest quadrant (the release), or "expected", the signs averaged
    # under the quadrant probabilities, so that an image whose sign V is unsure of reads near that angle's zero
    # instead of far out on a guessed side.
    sign_readout: str = "argmax"


@dataclass
class LossConfig:
    """Weights of every loss term; 0 switches a term off."""

    # WGAN critic loss in the V step and -D(S(z, v)) in the S step.
    adversarial: float = 1.0
    style: float = 0.8
    view: float = 0.8
    # Effective weight on (1 - cos): the release multiplies its 0.4 twice, so 0.16 reproduces it.
    imc: float = 0.16
    sym: float = 0.4
    # The paper's ||z-hat(x) - z-hat(x_f)||^2 mirror-style term; off in the released recipe.
    sym_style: float = 0.0
    gen_flip: float = 0.5
    gradient_penalty: float = 10.0
    drift: float = 0.001


@dataclass
class ImcConfig:
    features: str = "alexnet"
    # "imagenet" (downloaded when reachable), a path to a state dict, or null for random weights.
    weights: Optional[str] = "imagenet"
    # How S's re-rendering takes each angle's sign: "argmax" (the release) passes L_imc no gradient to V's quadrant
    # head; "expected" (ssv.viewpoint.quadrant_signs) lets L_imc train it too.
    sign_readout: str = "argmax"
    # Also apply L_imc in S's step (V frozen, its readings fixed), so that S learns to re-render the real images V
    # reads; the release trains only V with it.
    trains_generator: bool = False


@dataclass
class OptimConfig:
    lr: float = 5e-4
    betas: list[float] = field(default_factory=lambda: [0.0, 0.99])
    eps: float = 1e-8
    mapping_lr_mult: float = 0.01
    ema_decay: float = 0.999
    # Lazy regularisation (StyleGAN2): the gradient penalty on every N-th iteration only, at N times its weight, which
    # saves its double backward on the others. 1, every iteration, is the release.
    gradient_penalty_every: int = 1


@dataclass
class TrainerConfig:
    # Counted in SSV iterations (one V step + one S step); Lightning counts twice as many optimizer steps.
    max_steps: int = 500000
    # Wall-clock limit in Lightning's "DD:HH:MM:SS" form, e.g. "00:01:00:00" for an hour; training then ends with
    # a checkpoint and the evaluation after training, as it does at max_steps. null: no limit.
    max_time: Optional[str] = None
    accelerator: str = "auto"
    devices: Any = "auto"
    # Lightning's precision ("32-true", "bf16-mixed", ...), or "auto": bf16 autocast when training on a CPU that
    # computes bf16 natively (AVX512-BF16, AMX), float32 elsewhere.
    precision: str = "32-true"
    # torch.compile S's rendering of the V step's fakes (no gradient; every pass S differentiates stays eager, as
    # the compiled S's gradient to its codes is wrong on torch 2.13's CPU build), and V too when the gradient
    # penalty is off (compiled backward graphs cannot be differentiated again). The first iterations compile;
    # checkpoints are the eager networks'.
    compile: bool = False
    log_every_n_steps: int = 50
    sample_every_n_steps: int = 1000
    checkpoint_every_n_steps: int = 5000
    fast_dev_run: bool = False
    seed: int = 0
    logger: str = "wandb"
    wandb_project: str = "ssv"
    # "auto": DDP with unused-parameter detection when several devices or nodes are used (see docs/scaling.md).
    strategy: str = "auto"
    num_nodes: int = 1
    # A non-finite loss skips its step; this many such steps stop training with an error.
    max_non_finite_steps: int = 10


@dataclass
class EvaluationConfig:
    """The labeled evaluation run at the end of training (its metrics are what sweeps optimise)."""

    after_training: bool = True
    # "synthetic:<category>", a labels.csv, ...; null: the synthetic test split when training on synthetic data.
    data: Optional[str] = None
    n_calibration: int = 100


@dataclass
class SSVConfig:
    """The released recipe on faces; experiment files (``experiments/``) and profiles state only what differs."""

    category: str = "faces"
    profile: str = "paper"
    run_name: Optional[str] = None
    runs_dir: str = "runs"
    views: ViewRangeConfig = field(default_factory=ViewRangeConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    imc: ImcConfig = field(default_factory=ImcConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)


_CHOICES = {
    "profile": PROFILES,
    "model.rotation_sampling": ROTATION_SAMPLING_MODES,
    "model.volume_size": VOLUME_SIZES,
    "model.sign_readout": SIGN_READOUTS,
    "imc.features": ("alexnet", "encoder", "pixels"),
    "imc.sign_readout": SIGN_READOUTS,
    "trainer.logger": ("wandb", "csv", "tensorboard"),
}
# Keys left null are not checked.
_POSITIVE = ("data.batch_size", "data.fakes_per_real", "model.image_size", "model.code_size", "trainer.max_steps",
             "model.style_init_scale", "model.image_style_init_scale", "model.width",
             "model.viewpoint_width", "optim.gradient_penalty_every")


_OMEGACONF_DETAIL_LINES = ("full_key:", "reference_type=", "object_type=")


def one_line(error: Exception) -> str:
    """An OmegaConf or YAML message on one line, without OmegaConf's ``full_key``/``object_type`` detail lines."""
    lines = (line.strip() for line in str(error).splitlines())
    return " ".join(line for line in lines if line and not line.startswith(_OMEGACONF_DETAIL_LINES))


def read_yaml(path: Path, children: tuple[Path, ...] = ()) -> DictConfig:
    """Reads a config file, following its ``inherit:`` chain (paths relative to the file); a cycle is named."""
    path = path.resolve()
    if path in children:
        cycle = " -> ".join(str(file) for file in (*children[children.index(path):], path))
        raise ConfigError(f"inherit: cycle {cycle}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}" + (f" (inherited by {children[-1]})" if children else ""))
    try:
        node = OmegaConf.load(path)
    except Exception as error:  # yaml errors come in several types
        raise ConfigError(f"{path}: not valid YAML ({one_line(error)})") from None
    parent = node.pop(INHERIT_KEY, None)
    if parent is None:
        return node
    return OmegaConf.merge(read_yaml(inherited_path(path, parent), (*children, path)), node)


def inherited_path(child: Path, parent: str) -> Path:
    """``inherit:`` is relative to the inheriting file. A name not found there, or naming the file itself, is a
    shipped experiment file: a user's config, even one called ``faces.yaml``, can build on the shipped recipe."""
    path = (child.parent / parent).resolve()
    shipped = EXPERIMENTS_DIR / parent
    use_shipped = shipped.is_file() and (path == child or not path.is_file())
    return shipped if use_shipped else path


def experiment_dirs() -> tuple[Path, ...]:
    """The folders experiment files are looked up in, first match wins: ``$SSV_EXPERIMENTS``, then the shipped."""
    user = os.environ.get(USER_EXPERIMENTS_VARIABLE)
    if not user:
        return (EXPERIMENTS_DIR,)
    folder = Path(user).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"{USER_EXPERIMENTS_VARIABLE}={user}: no such folder")
    return folder, EXPERIMENTS_DIR


def experiment_file(name: str, subfolder: str, kind: str) -> Path:
    """``<folder>/<subfolder>/<name>.yaml`` of the first experiment folder that has it; the error lists the known."""
    folders = [folder / subfolder for folder in experiment_dirs()]
    for folder in folders:
        if (folder / f"{name}.yaml").is_file():
            return folder / f"{name}.yaml"
    known = sorted({path.stem for folder in folders for path in folder.glob("*.yaml")})
    searched = " or ".join(str(folder) for folder in folders)
    raise ConfigError(f"unknown {kind} '{name}': no {name}.yaml in {searched}. Known: {', '.join(known)}")


def experiment_path(name: str) -> Path:
    """``experiments/<name>.yaml``, or the user's own from ``$SSV_EXPERIMENTS``."""
    return experiment_file(name, "", "category/experiment")


def default_profile() -> str:
    import torch

    if torch.cuda.is_available():
        return "paper"
    log.warning(
        "No GPU found and no profile given: using the 'cpu' profile (experiments/profiles/cpu.yaml), built for "
        "learning per CPU-minute. Pass PROFILE=paper (--profile paper) to force the paper's recipe."
    )
    return "cpu"


def _merge(base: DictConfig, layer: DictConfig, source: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, layer)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        where = f"bad config key '{key}'" if key else "bad config"
        raise ConfigError(f"{source}: {where}: {one_line(error)}") from None


def load_config(
    config_path: Path | str,
    overrides: list[str] | tuple[str, ...] = (),
    profile: str | None = None,
) -> DictConfig:
    """Schema <- experiment file (with inheritance) <- profile <- dotlist overrides, validated."""
    config_path = Path(config_path)
    config = OmegaConf.structured(SSVConfig)
    config = _merge(config, read_yaml(config_path), str(config_path))
    profile = profile or default_profile()
    if profile not in PROFILES:
        raise ConfigError(f"bad config key 'profile': '{profile}' is not one of {', '.join(PROFILES)}")
    profile_path = experiment_file(profile, "profiles", "profile")
    config = _merge(config, read_yaml(profile_path), str(profile_path))
    config.profile = profile
    try:
        dotlist = OmegaConf.from_dotlist(list(overrides))
    except Exception as error:
        raise ConfigError(f"bad override in {list(overrides)}: {one_line(error)}") from None
    config = _merge(config, dotlist, "command line")
    validate(config)
    return config


def non_finite_numbers(node: Any, key: str = "") -> list[tuple[str, float]]:
    """``(dotted key, value)`` of every NaN or infinite number in a nested container."""
    if isinstance(node, dict):
        return [found for name, value in node.items() for found in non_finite_numbers(value, f"{key}.{name}")]
    if isinstance(node, list):
        return [found for index, value in enumerate(node) for found in non_finite_numbers(value, f"{key}[{index}]")]
    return [(key.lstrip("."), node)] if isinstance(node, float) and not math.isfinite(node) else []


def validate(config: DictConfig) -> None:
    """Checks values the type system cannot express."""
    non_finite = non_finite_numbers(OmegaConf.to_container(config, resolve=True))
    if non_finite:
        key, value = non_finite[0]
        raise ConfigError(f"bad config key '{key}': {value} is not a finite number")
    for key, choices in _CHOICES.items():
        value = OmegaConf.select(config, key)
        if value not in choices:
            raise ConfigError(f"bad config key '{key}': '{value}' is not one of {', '.join(map(str, choices))}")
    for key in _POSITIVE:
        value = OmegaConf.select(config, key)
        if value is not None and value <= 0:
            raise ConfigError(f"bad config key '{key}': must be positive")
    size = config.model.image_size
    if size < 32 or size & (size - 1):
        raise ConfigError(f"bad config key 'model.image_size': {size} is not a power of two >= 32")
    max_time = config.trainer.max_time
    if max_time is not None and not re.fullmatch(r"\d+:\d\d:\d\d:\d\d", max_time):
        raise ConfigError(f"bad config key 'trainer.max_time': '{max_time}' is not DD:HH:MM:SS, e.g. 00:01:00:00")
    if not config.model.image_styles and config.model.image_style_init_scale is not None:
        raise ConfigError("bad config key 'model.image_style_init_scale': S has no image styles to scale with "
                          "model.image_styles=false; leave it null")
    if len(config.optim.betas) != 2:
        raise ConfigError("bad config key 'optim.betas': needs two values")
    evaluation = config.evaluation
    evaluates = evaluation.after_training and not config.trainer.fast_dev_run
    if evaluates and evaluation.data is None and config.data.root is None:
        test_images = config.data.synthetic.num_test
        if evaluation.n_calibration >= test_images:
            raise ConfigError(f"bad config key 'evaluation.n_calibration': {evaluation.n_calibration} leaves no test "
                              f"images of data.synthetic.num_test={test_images}")
    unknown = sorted(set(config.data.shared_augmentations) - set(SHARED_AUGMENTATIONS))
    if unknown:
        raise ConfigError(f"bad config key 'data.shared_augmentations': {unknown} not among "
                          f"{', '.join(SHARED_AUGMENTATIONS)}")
    weights = OmegaConf.to_container(config.loss)
    negative = [name for name, value in weights.items() if value < 0]
    if negative:
        raise ConfigError(f"bad config key 'loss.{negative[0]}': loss weights must be >= 0")


def to_container(config: DictConfig) -> dict:
    """Plain dict for checkpoints (a DictConfig breaks torch's weights_only loading)."""
    return OmegaConf.to_container(config, resolve=True)


def from_container(data: dict) -> DictConfig:
    """Re-validates a stored config against the schema."""
    return _merge(OmegaConf.structured(SSVConfig), OmegaConf.create(data), "stored config")
