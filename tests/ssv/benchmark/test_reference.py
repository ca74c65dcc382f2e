"""The release's design, built from its own layer lists, computes the same losses and gradients as this project's."""

import pytest
import torch

from ssv.benchmark.random_pairs import RandomMirrorPairs
from ssv.benchmark.reference import ReleaseDesignModule, ReleaseSynthesisNetwork, ReleaseViewpointNetwork
from ssv.config import to_container
from ssv.module import SSVModule

pytestmark = pytest.mark.integration  # builds and backpropagates both designs: left out of `make test-quick`

BATCH = 4
# Dropout off: separate passes draw their dropout masks in another order than one merged pass.
REFERENCE_SETTINGS = ("model.head_dropout=0.0", f"data.batch_size={BATCH}", "model.volume_size=16")


@pytest.fixture
def config(tiny):
    """``config(*overrides)``: the shared tiny config in a design the release can express, as a plain dict."""
    return lambda *overrides: to_container(tiny(*REFERENCE_SETTINGS, *overrides))


def pair(config):
    torch.manual_seed(0)
    optimized = SSVModule(config).double()
    torch.manual_seed(0)
    reference = ReleaseDesignModule(config).double()
    return optimized, reference


def stacked_batch():
    pairs = RandomMirrorPairs(BATCH, 32)
    return {key: torch.stack([pairs[i][key] for i in range(BATCH)]).double() for key in ("image", "mirror")}


def terms_after_backward(module, step):
    if step == "viewpoint":
        terms = module.viewpoint_step_losses(stacked_batch()).terms
    else:
        terms = module.synthesis_step_losses(BATCH).terms
    module.zero_grad(set_to_none=True)
    module.weighted_total(terms).backward()
    return {name: value.detach() for name, value in terms.items()}


@pytest.mark.parametrize("step", ["viewpoint", "synthesis"])
@pytest.mark.parametrize("overrides", [(), ("model.rotation_sampling=bilinear", "imc.features=encoder")])
def test_both_designs_compute_the_same_losses_and_gradients(step, overrides, config):
    optimized, reference = pair(config(*overrides))
    terms, reference_terms = terms_after_backward(optimized, step), terms_after_backward(reference, step)
    assert terms.keys() == reference_terms.keys()
    for name in terms:
        torch.testing.assert_close(reference_terms[name], terms[name], rtol=1e-10, atol=1e-12, msg=name)
    pairs = (reference.generator.load_project_weights(optimized.generator)
             + reference.viewpoint_net.load_project_weights(optimized.viewpoint_net))
    compared = 0
    for mine, theirs in pairs:
        if theirs.grad is None:
            assert mine.grad is None or torch.count_nonzero(mine.grad) == 0
            continue
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-8, atol=1e-11)
        compared += 1
    assert compared > 10
    # The release's extra parameters: the faded-out block and the biases an instance norm cancels.
    paired = {id(mine) for mine, _ in pairs}
    for name, parameter in reference.named_parameters():
        if id(parameter) not in paired and parameter.grad is not None and not name.startswith("ema_"):
            assert parameter.grad.abs().max() < 1e-9, name


def test_the_reference_makes_the_passes_the_release_makes(config):
    optimized, reference = pair(config())
    assert isinstance(reference.viewpoint_net, ReleaseViewpointNetwork)
    assert isinstance(reference.generator, ReleaseSynthesisNetwork)
    calls = {"optimized": [], "reference": []}
    for name, module in (("optimized", optimized), ("reference", reference)):
        log = calls[name]
        module.viewpoint_net.register_forward_hook(lambda m, args, out, log=log: log.append(("V", len(args[0]))))
        module.generator.register_forward_hook(lambda m, args, out, log=log: log.append(("S", len(args[0]))))
        module.viewpoint_step_losses(stacked_batch())
        module.synthesis_step_losses(BATCH)
    # V: real, mirror, fake merged; gradient penalty; S step. S: fakes, L_imc; S step merged (not via forward).
    assert calls["optimized"] == [("S", 4), ("V", 12), ("V", 4), ("S", 4), ("V", 12)]
    assert calls["reference"] == [("S", 4), ("V", 4), ("V", 4), ("V", 4), ("V", 4), ("S", 4),
                                  ("S", 12), ("S", 4), ("V", 12)]


def test_the_release_networks_follow_its_layer_lists_at_full_width():
    generator, viewpoint_net = ReleaseSynthesisNetwork(), ReleaseViewpointNetwork()
    assert generator.progression1[0].conv1 is None and generator.constant.shape == (1, 512, 4, 4, 4)
    assert [tuple(block[0].weight.shape[:2]) for block in generator.progression2] == [(64, 128), (64, 64)]
    assert generator.projection.weight.shape[:2] == (512, 1024)
    assert [block.conv2.weight.shape[0] for block in generator.scb] == [256, 64, 32]
    assert viewpoint_net.dead_from_rgb.weight.shape[0] == 128 and viewpoint_net.from_rgb.weight.shape[0] == 256
    assert len(viewpoint_net.progression) == 4 and viewpoint_net.last[0].weight.shape[:2] == (512, 513)


def test_a_design_the_release_cannot_express_is_refused(config):
    with pytest.raises(ValueError, match="16\\^3 volume"):
        ReleaseDesignModule(config("model.volume_size=8"))
