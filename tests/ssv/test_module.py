import copy

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ssv.benchmark.random_pairs import RandomMirrorPairs
from ssv.config import to_container
from ssv.module import SSVModule
from ssv.networks import ALEXNET_IMAGENET_URL

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`

# On top of the shared tiny config: 64 px, AlexNet's L_imc features (random weights) and a batch of two.
MODULE_SETTINGS = ("model.image_size=64", "imc.features=alexnet", "imc.weights=null", "data.batch_size=2")
V_STEP_TERMS = ("adversarial", "drift", "gradient_penalty", "style", "view", "sym", "sym_style", "imc")
S_STEP_TERMS = ("adversarial", "style", "view", "gen_flip")
ALL_WEIGHTS = ("adversarial", "drift", "gradient_penalty", "style", "view", "sym", "sym_style", "imc", "gen_flip")


@pytest.fixture
def config(tiny):
    """``config(*overrides)``: this module's tiny config with extra dotlist overrides."""
    return lambda *overrides: tiny(*MODULE_SETTINGS, *overrides)


def only(config, term: str, *overrides):
    zeros = [f"loss.{name}={1.0 if name == term else 0.0}" for name in ALL_WEIGHTS]
    return config(*zeros, *overrides)


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(before: dict, module: torch.nn.Module) -> set[str]:
    return {name for name, p in module.named_parameters() if not torch.equal(before[name], p.detach())}


def fit_iterations(model: SSVModule, iterations: int = 1, batch_size: int = 2, **trainer_args) -> pl.Trainer:
    loader = DataLoader(RandomMirrorPairs(8, model.config.model.image_size), batch_size=batch_size)
    trainer = pl.Trainer(
        max_steps=2 * iterations,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **trainer_args,
    )
    trainer.fit(model, train_dataloaders=loader)
    return trainer


def repeated_pair_batch(size: int = 2) -> dict[str, torch.Tensor]:
    """One 64 px image and its mirror, repeated ``size`` times as a training batch."""
    pair = RandomMirrorPairs(1, 64)[0]
    return {key: value.unsqueeze(0).expand(size, -1, -1, -1) for key, value in pair.items()}


class StepSpy:
    """Records V, S and their gradients between the V step and the S step of one iteration."""

    def __init__(self, model: SSVModule):
        self.model = model
        self.start_v, self.start_s = snapshot(model.viewpoint_net), snapshot(model.generator)
        self.start_ema = snapshot(model.ema_generator)
        original = model.synthesis_step_losses

        def spy(*args):
            self.mid_v, self.mid_s = snapshot(model.viewpoint_net), snapshot(model.generator)
            self.v_grads = {n: p.grad for n, p in model.viewpoint_net.named_parameters()}
            return original(*args)

        model.synthesis_step_losses = spy


def test_v_step_trains_only_v_and_s_step_trains_only_s(config):
    model = SSVModule(to_container(config()))
    spy = StepSpy(model)
    fit_iterations(model)
    assert changed(spy.start_s, model.generator) and changed(spy.start_v, model.viewpoint_net)
    assert not changed(spy.start_s, _as_module(model.generator, spy.mid_s)), "the V step changed S"
    assert changed(spy.start_v, _as_module(model.viewpoint_net, spy.mid_v)), "the V step left V unchanged"
    assert not changed(spy.mid_v, model.viewpoint_net), "the S step changed V"


def _as_module(module: torch.nn.Module, state: dict) -> torch.nn.Module:
    copied = copy.deepcopy(module)
    with torch.no_grad():
        for name, parameter in copied.named_parameters():
            parameter.copy_(state[name])
    return copied


def test_ema_moves_toward_s_by_the_decay(config):
    model = SSVModule(to_container(config("optim.ema_decay=0.9")))
    spy = StepSpy(model)
    fit_iterations(model)
    for name, ema in model.ema_generator.named_parameters():
        expected = torch.lerp(spy.start_ema[name], dict(model.generator.named_parameters())[name].detach(), 0.1)
        assert torch.allclose(ema, expected, atol=1e-6), name
    assert not any(p.requires_grad for p in model.ema_generator.parameters())


@pytest.mark.parametrize("term", V_STEP_TERMS)
def test_each_v_step_term_alone_trains_v_with_finite_gradients(term, config):
    model = SSVModule(to_container(only(config, term, "imc.features=pixels")))
    spy = StepSpy(model)
    fit_iterations(model)
    grads = [g for g in spy.v_grads.values() if g is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    assert not changed(spy.start_s, _as_module(model.generator, spy.mid_s))


@pytest.mark.parametrize("term", S_STEP_TERMS)
def test_each_s_step_term_alone_trains_s_and_not_v(term, config):
    model = SSVModule(to_container(only(config, term)))
    spy = StepSpy(model)
    grads = {}
    fit_iterations(model)
    for name, parameter in model.generator.named_parameters():
        grads[name] = parameter.grad
    finite = [g for g in grads.values() if g is not None]
    assert finite and all(torch.isfinite(g).all() for g in finite)
    assert changed(spy.mid_s, model.generator)
    assert not changed(spy.mid_v, model.viewpoint_net)


def test_a_zero_weight_switches_a_term_off(config):
    model = SSVModule(to_container(config("loss.sym=0", "loss.imc=0")))
    batch = repeated_pair_batch()
    terms = model.viewpoint_step_losses(batch).terms
    assert "sym" not in terms and "imc" not in terms and "adversarial" in terms and "gradient_penalty" in terms
    assert model.consistency_features is None


@pytest.mark.parametrize("iteration, computed", [(0, True), (1, False), (2, False), (3, True)])
def test_a_lazy_gradient_penalty_runs_every_nth_iteration_at_n_times_its_weight(
    iteration, computed, monkeypatch, config
):
    model = SSVModule(to_container(config("optim.gradient_penalty_every=3", "loss.gradient_penalty=10")))
    monkeypatch.setattr(SSVModule, "iteration", property(lambda self: iteration))
    batch = repeated_pair_batch()
    assert ("gradient_penalty" in model.viewpoint_step_losses(batch).terms) == computed
    assert model.loss_weight("gradient_penalty") == 30.0


@pytest.mark.parametrize("features", ["alexnet", "pixels", "encoder"])
def test_image_consistency_runs_with_every_feature_kind(features, config):
    model = SSVModule(to_container(config(f"imc.features={features}")))
    batch = RandomMirrorPairs(2, 64)
    batch = {"image": batch.images, "mirror": batch.images.flip(-1)}
    terms = model.viewpoint_step_losses(batch).terms
    assert torch.isfinite(terms["imc"]) and 0 <= terms["imc"] <= 2


@pytest.mark.parametrize("readout, trains_signs", [("argmax", False), ("expected", True)])
def test_image_consistency_trains_the_quadrant_head_only_with_expected_signs(readout, trains_signs, config):
    model = SSVModule(to_container(only(config, "imc", "imc.features=pixels", "model.rotation_sampling=bilinear",
                                        f"imc.sign_readout={readout}")))
    images = RandomMirrorPairs(2, 64).images
    model.viewpoint_step_losses({"image": images, "mirror": images.flip(-1)}).terms["imc"].backward()
    heads = model.viewpoint_net.angle_heads
    sign_grads = [p.grad for head in heads for p in head.sign.parameters()]
    magnitude_grads = [p.grad for head in heads for p in head.magnitude.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in magnitude_grads)
    assert any(g is not None and g.abs().sum() > 0 for g in sign_grads) == trains_signs


@pytest.mark.parametrize("trains_generator", [False, True])
def test_image_consistency_trains_s_in_its_step_only_when_asked(trains_generator, config):
    model = SSVModule(to_container(only(config, "imc", "imc.features=pixels",
                                        f"imc.trains_generator={trains_generator}")))
    terms = model.synthesis_step_losses(2, RandomMirrorPairs(2, 64).images).terms
    assert ("imc" in terms) == trains_generator
    if trains_generator:
        terms["imc"].backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.generator.parameters())
        assert all(p.grad is None for p in model.viewpoint_net.parameters()), "V's readings are fixed in S's step"


def test_full_iteration_logs_every_term(config):
    model = SSVModule(to_container(config("imc.features=alexnet", "loss.sym_style=0.1")))
    trainer = fit_iterations(model)
    logged = set(trainer.callback_metrics)
    assert {f"v/{term}" for term in (*V_STEP_TERMS, "total")} <= logged
    assert {f"s/{term}" for term in (*S_STEP_TERMS, "total")} <= logged
    assert "wgan_gap" in logged and "v/wgan_gap" not in logged, "the WGAN gap is a metric, not a weighted term"
    assert all(torch.isfinite(value) for value in trainer.callback_metrics.values())


def test_mapping_network_learns_at_a_hundredth_of_the_rate(config):
    model = SSVModule(to_container(config()))
    _, synthesis_optimizer = model.configure_optimizers()
    rates = sorted(group["lr"] for group in synthesis_optimizer.param_groups)
    assert rates == pytest.approx([5e-6, 5e-4])
    mapping = {id(p) for p in model.generator.mapping.parameters()}
    slow_group = min(synthesis_optimizer.param_groups, key=lambda group: group["lr"])
    assert {id(p) for p in slow_group["params"]} == mapping


def test_checkpoint_reload_gives_identical_viewpoints(tmp_path, config):
    model = SSVModule(to_container(config()))
    trainer = fit_iterations(model, iterations=2)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    restored = SSVModule.load_from_checkpoint(path)
    checkpoint = torch.load(path, weights_only=True)
    assert len(checkpoint["optimizer_states"]) == 2
    assert any(key.startswith("ema_generator.") for key in checkpoint["state_dict"])
    images = RandomMirrorPairs(4, 64).images
    model.eval(), restored.eval()
    with torch.no_grad():
        assert torch.equal(model(images), restored(images))
        assert torch.equal(model.sample_images(), restored.sample_images())
    assert restored.config == model.config


def test_loading_a_checkpoint_never_fetches_weights_and_training_fetches_them_once(tmp_path, monkeypatch, config):
    fetched = []

    def no_network(url, *args, **kwargs):
        fetched.append(url)
        raise OSError("no network in this test")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    model = SSVModule(to_container(config("imc.features=alexnet", "imc.weights=imagenet")))
    path = tmp_path / "alexnet.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "pytorch-lightning_version": pl.__version__}, path)
    restored = SSVModule.load_from_checkpoint(path, weights_only=True)
    assert fetched == [], "building or loading a model fetched L_imc's weights"
    for name, value in model.consistency_features.state_dict().items():
        assert torch.equal(value, restored.consistency_features.state_dict()[name]), name
    restored.setup("fit")
    assert fetched == [ALEXNET_IMAGENET_URL]


def test_a_non_finite_loss_skips_the_step_and_repeated_ones_stop_training(monkeypatch, config):
    from ssv import losses

    model = SSVModule(to_container(config("trainer.max_non_finite_steps=2")))
    monkeypatch.setattr(losses, "drift_loss", lambda score: score.mean() * float("nan"))
    before_v = snapshot(model.viewpoint_net)
    with pytest.raises(FloatingPointError, match="drift"):
        fit_iterations(model, iterations=3)
    assert model.non_finite_steps == 2
    assert not changed(before_v, model.viewpoint_net), "a skipped V step still changed V"
    assert all(torch.isfinite(p).all() for p in model.parameters())


def is_compiled(network: torch.nn.Module) -> bool:
    return network._compiled_call_impl is not None


@pytest.mark.parametrize("penalty, v_compiled", [(10.0, False), (0.0, True)])
def test_trainer_compile_compiles_the_fake_renderer_and_v_only_without_the_gradient_penalty(
    penalty, v_compiled, config
):
    model = SSVModule(to_container(config("trainer.compile=true", f"loss.gradient_penalty={penalty}")))
    assert model.compiled_fake_renderer is None
    model.setup("fit")
    assert model.compiled_fake_renderer is not None and is_compiled(model.viewpoint_net) == v_compiled
    assert not is_compiled(model.generator) and not is_compiled(model.ema_generator)


@pytest.mark.slow
def test_a_compiled_training_renders_as_eager_and_keeps_the_eager_parameter_names(config):
    settings = ("model.image_size=32", "model.volume_size=8", "model.rotation_sampling=bilinear",
                "trainer.compile=true")
    model = SSVModule(to_container(config(*settings)))
    eager_generator = copy.deepcopy(model.generator)
    codes, views = model.sample_latents(2)
    fit_iterations(model, iterations=2)  # compiles in setup("fit")
    model.generator.load_state_dict(eager_generator.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(model.render_fakes(codes, views), eager_generator(codes, views), atol=1e-4,
                                   rtol=1e-3)
    assert model.state_dict().keys() == SSVModule(model.config).state_dict().keys()


@pytest.mark.slow
def test_a_compiled_training_passes_l_imc_the_eager_gradient(config):
    # No dropout: compiled graphs draw their random numbers apart from eager ones.
    settings = ("model.image_size=32", "model.volume_size=8", "model.rotation_sampling=bilinear",
                "model.head_dropout=0")
    eager = SSVModule(to_container(config(*settings)))
    compiled = copy.deepcopy(eager)
    compiled.compile_networks()
    batch = next(iter(DataLoader(RandomMirrorPairs(2, 32), batch_size=2)))
    gradients = []
    for model in (eager, compiled):
        torch.manual_seed(0)
        model.viewpoint_step_losses(batch).terms["imc"].backward()
        gradients.append([p.grad for p in model.viewpoint_net.parameters() if p.grad is not None])
    assert gradients[0], "L_imc gave V no gradient"
    torch.testing.assert_close(gradients[1], gradients[0], atol=1e-4, rtol=1e-3)


def test_shared_augmentations_change_what_v_sees_in_training_and_not_at_evaluation(config):
    model = SSVModule(to_container(config("data.shared_augmentations=[translation,cutout]")))
    seen = []
    model.viewpoint_net.register_forward_pre_hook(lambda network, inputs: seen.append(inputs[0]))
    batch = next(iter(DataLoader(RandomMirrorPairs(2, 64), batch_size=2)))
    model.viewpoint_step_losses(batch)
    assert not torch.equal(seen[0][:2], batch["image"]), "V step: real images augmented"
    model.synthesis_step_losses(2)
    model.eval()
    seen.clear()
    model(batch["image"])
    assert torch.equal(seen[0], batch["image"])


def test_v_can_be_wider_than_s_and_a_full_iteration_trains_both(config):
    model = SSVModule(to_container(config("model.viewpoint_width=0.25")))
    assert model.viewpoint_net.trunk(torch.zeros(2, 3, 64, 64)).shape == (2, 128)  # 512 * 0.25
    assert model.generator.to_rgb.weight.shape[1] == 8  # S keeps model.width: 64 * 0.125 channels at 64 px
    before_v, before_s = snapshot(model.viewpoint_net), snapshot(model.generator)
    fit_iterations(model)
    assert changed(before_v, model.viewpoint_net) and changed(before_s, model.generator)


def test_the_image_blocks_style_scale_reaches_s_apart_from_the_volume_blocks(config):
    model = SSVModule(to_container(config("model.style_init_scale=0.1", "model.image_style_init_scale=1.0")))
    style_weights = {name: weight for name, weight in model.generator.named_parameters()
                     if name.endswith("adain.style.weight")}
    volume = torch.cat([w.flatten() for name, w in style_weights.items() if name.startswith("volume_blocks.")])
    image = torch.cat([w.flatten() for name, w in style_weights.items() if name.startswith("image_blocks.")])
    assert volume.std() < 0.2 < 0.5 < image.std()


def test_without_image_styles_l_z_reads_z1_alone_and_a_full_iteration_trains_both(config):
    model = SSVModule(to_container(config("model.image_styles=false")))
    codes, views = model.sample_latents(2)
    reading = model.viewpoint_net(torch.zeros(2, 3, 64, 64))
    z1_read = reading._replace(style=torch.cat([codes[:, :model.config.model.code_size],
                                                torch.randn_like(codes[:, model.config.model.code_size:])], 1))
    assert model.reconstruction_terms(z1_read, codes, views)["style"].item() == 0.0
    before_v, before_s = snapshot(model.viewpoint_net), snapshot(model.generator)
    fit_iterations(model)
    assert changed(before_v, model.viewpoint_net) and changed(before_s, model.generator)


def test_v_at_full_resolution_is_built_from_the_config_and_trains(config):
    model = SSVModule(to_container(config("model.viewpoint_full_resolution=true")))
    assert "block64" in model.viewpoint_net.encoder._modules  # the tiny config's 64 px images
    before = snapshot(model.viewpoint_net)
    fit_iterations(model)
    assert changed(before, model.viewpoint_net)
