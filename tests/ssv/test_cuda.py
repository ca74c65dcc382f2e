"""Checks that need a CUDA device (`make device-check` runs them); they skip on a machine without one."""

import pytest
import torch

from ssv.config import to_container
from ssv.module import SSVModule

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def step_terms(model: SSVModule, batch: dict) -> dict[str, dict[str, torch.Tensor]]:
    """Each step's loss terms, keyed by step."""
    model.latent_generator.manual_seed(0)
    return {"v": model.viewpoint_step_losses(batch).terms, "s": model.synthesis_step_losses(4).terms}


def test_a_training_iteration_on_the_gpu_computes_the_cpu_losses(tiny):
    config = to_container(tiny("model.head_dropout=0.0"))
    torch.manual_seed(0)
    cpu_model = SSVModule(config)
    gpu_model = SSVModule(config)
    gpu_model.load_state_dict(cpu_model.state_dict())
    gpu_model.cuda()
    batch = {"image": torch.rand(4, 3, 32, 32) * 2 - 1, "mirror": torch.rand(4, 3, 32, 32) * 2 - 1}
    on_cpu = step_terms(cpu_model, batch)
    on_gpu = step_terms(gpu_model, {key: value.cuda() for key, value in batch.items()})
    for step, terms in on_cpu.items():
        for name, value in terms.items():
            torch.testing.assert_close(on_gpu[step][name].cpu(), value, rtol=2e-3, atol=2e-3, msg=f"{step}/{name}")


def test_bf16_autocast_keeps_every_loss_finite_and_gives_gradients(tiny):
    model = SSVModule(to_container(tiny())).cuda()
    batch = {"image": torch.rand(4, 3, 32, 32, device="cuda") * 2 - 1,
             "mirror": torch.rand(4, 3, 32, 32, device="cuda") * 2 - 1}
    with torch.autocast("cuda", dtype=torch.bfloat16):
        terms = step_terms(model, batch)
    assert all(torch.isfinite(value) for step in terms.values() for value in step.values())
    (model.weighted_total(terms["v"]) + model.weighted_total(terms["s"])).backward()
    assert any(p.grad is not None and torch.isfinite(p.grad).all() for p in model.viewpoint_net.parameters())


def test_per_image_predictions_on_the_gpu_match_the_cpu(tiny):
    model = SSVModule(to_container(tiny())).eval()
    images = torch.rand(6, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        on_cpu = model(images)
        on_gpu = model.cuda()(images.cuda()).cpu()
    torch.testing.assert_close(on_gpu, on_cpu, rtol=1e-3, atol=1e-3)
