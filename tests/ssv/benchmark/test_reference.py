"""Each change against the release's design leaves every loss term and every gradient as it was."""

import pytest
import torch

from datamodules.random_pairs import RandomMirrorPairs
from ssv.benchmark.reference import RELEASE_CHANGES, ReleaseDesignModule, ReleaseViewpointNetwork
from ssv.config import experiment_path, load_config, to_container
from ssv.module import SSVModule

BATCH = 4
# Dropout off: merged and separate passes draw their dropout masks in a different order.
TINY = ["model.image_size=32", "model.width=0.125", "model.code_size=8", "model.mapping_layers=2",
        "model.head_dropout=0.0", "imc.features=pixels", f"data.batch_size={BATCH}"]


def pair(undo):
    config = to_container(load_config(experiment_path("faces"), TINY, profile="small"))
    torch.manual_seed(0)
    optimized = SSVModule(config).double()
    torch.manual_seed(0)
    reference = ReleaseDesignModule(config, undo=undo).double()
    return optimized, reference


def terms_and_gradients(module, step):
    batch = stacked_batch()
    terms = module.viewpoint_step_terms(batch) if step == "viewpoint" else module.synthesis_step_terms(BATCH)
    module.zero_grad(set_to_none=True)
    module.weighted_total(terms).backward()
    gradients = {name: p.grad for name, p in module.named_parameters() if p.grad is not None}
    return {name: value.detach() for name, value in terms.items()}, gradients


def stacked_batch():
    pairs = RandomMirrorPairs(BATCH, 32)
    return {key: torch.stack([pairs[i][key] for i in range(BATCH)]).double() for key in ("image", "mirror")}


@pytest.mark.parametrize("step", ["viewpoint", "synthesis"])
@pytest.mark.parametrize("undo", [(change,) for change in RELEASE_CHANGES] + [RELEASE_CHANGES])
def test_each_change_keeps_losses_and_gradients(undo, step):
    optimized, reference = pair(undo)
    terms, gradients = terms_and_gradients(optimized, step)
    reference_terms, reference_gradients = terms_and_gradients(reference, step)
    assert terms.keys() == reference_terms.keys()
    for name in terms:
        torch.testing.assert_close(reference_terms[name], terms[name], rtol=1e-10, atol=1e-12, msg=name)
    dead = {name for name in reference_gradients if "dead_block" in name}
    assert reference_gradients.keys() - dead == gradients.keys()
    for name, gradient in gradients.items():
        torch.testing.assert_close(reference_gradients[name], gradient, rtol=1e-9, atol=1e-12, msg=name)
    if "dead_block" in undo and step == "viewpoint":
        # Faded out with alpha 0: in the graph (its cost is paid) but contributing nothing.
        assert dead and all(torch.count_nonzero(reference_gradients[name]) == 0 for name in dead)


def test_the_reference_makes_the_passes_the_release_makes():
    optimized, reference = pair(RELEASE_CHANGES)
    assert isinstance(reference.viewpoint_net, ReleaseViewpointNetwork)
    calls = {"optimized": [], "reference": []}
    for name, module in (("optimized", optimized), ("reference", reference)):
        log = calls[name]
        module.viewpoint_net.register_forward_hook(lambda m, args, out, log=log: log.append(("V", len(args[0]))))
        module.generator.register_forward_hook(lambda m, args, out, log=log: log.append(("S", len(args[0]))))
        module.viewpoint_step_terms(stacked_batch())
        module.synthesis_step_terms(BATCH)
    # V: real, fake, mirror merged; gradient penalty; S step. S: fakes, L_imc; S step merged (not via forward).
    assert calls["optimized"] == [("S", 4), ("V", 12), ("V", 4), ("S", 4), ("V", 12)]
    assert calls["reference"] == [("S", 4), ("V", 4), ("V", 4), ("V", 4), ("V", 4), ("S", 4),
                                  ("S", 12), ("S", 4), ("V", 12)]


def test_unknown_changes_are_refused():
    config = to_container(load_config(experiment_path("faces"), TINY, profile="small"))
    with pytest.raises(ValueError, match="unknown release changes"):
        ReleaseDesignModule(config, undo=("channels_last",))
