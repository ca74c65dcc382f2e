"""The SSV LightningModule: synthesis network S, viewpoint network V (also the critic), EMA copy of S."""

from __future__ import annotations

import copy
import logging
from contextlib import contextmanager
from typing import Callable, NamedTuple

import pytorch_lightning as pl
import torch
from torch import nn

from ssv import losses
from ssv.augmentation import SharedAugmentation
from ssv.config import from_container
from ssv.networks import (
    AlexNetConv2Features,
    ViewpointOutput,
    build_consistency_features,
    load_alexnet_weights,
    synthesis_network_from,
    viewpoint_network_from,
)
from ssv.viewpoint import decode, mirror_view, sample_views

log = logging.getLogger(__name__)

SAMPLE_COUNT = 16
SWEEP_STEPS = 8


class StepLosses(NamedTuple):
    """One optimisation step's loss terms, keyed by their names (``ssv.losses``), and its metrics: values that
    are logged but not optimised."""

    terms: dict[str, torch.Tensor]
    metrics: dict[str, torch.Tensor]


@contextmanager
def frozen(module: nn.Module):
    """Gradients flow through ``module`` to its inputs but not into its parameters."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for parameter, flag in zip(module.parameters(), flags):
            parameter.requires_grad_(flag)


class SSVModule(pl.LightningModule):
    """Trains V and S alternately with manual optimisation (docs/method.md)."""

    def __init__(self, config: dict):
        super().__init__()
        self.automatic_optimization = False
        self.save_hyperparameters()
        self.config = from_container(config)
        self.generator = synthesis_network_from(self.config.model)
        self.viewpoint_net = viewpoint_network_from(self.config.model)
        self.ema_generator = copy.deepcopy(self.generator).requires_grad_(False).eval()
        self.consistency_features = self._build_consistency_features()
        augmentations = self.config.data.shared_augmentations
        self.shared_augmentation = SharedAugmentation(list(augmentations)) if augmentations else None
        self.non_finite_steps = 0
        self.compiled_fake_renderer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
        # Latents and blends come from the module's own generator, identical on every rank and unaffected by
        # Lightning reseeding the global RNG when DDP starts; its state travels in checkpoints.
        self.latent_generator = torch.Generator().manual_seed(self.config.trainer.seed)
        views = self.config.views
        ranges = torch.tensor([views.azimuth, views.elevation, views.tilt])
        self.register_buffer("view_ranges", ranges, persistent=False)
        fixed = torch.Generator().manual_seed(self.config.trainer.seed)
        self.register_buffer("fixed_codes", self.draw_codes(SAMPLE_COUNT, fixed))
        self.register_buffer("fixed_views", sample_views(SAMPLE_COUNT, self.view_ranges, generator=fixed))

    def _build_consistency_features(self) -> nn.Module | None:
        if self.config.loss.imc == 0 or self.config.imc.features == "encoder":
            return None
        return build_consistency_features(self.config.imc.features)

    def setup(self, stage: str) -> None:
        """Before training (and before Lightning restores a checkpoint it resumes), fetch L_imc's weights and compile
        the networks if ``trainer.compile`` asks."""
        if stage != "fit":
            return
        if isinstance(self.consistency_features, AlexNetConv2Features):
            load_alexnet_weights(self.consistency_features, self.config.imc.weights)
        if self.config.trainer.compile:
            self.compile_networks()

    def compile_networks(self) -> None:
        """A compiled S renders the V step's fakes, which need no gradient. Every pass that S differentiates stays
        eager: on torch 2.13's CPU build the compiled S gives a wrong gradient with respect to its style codes,
        which L_imc's re-render passes on to V. V compiles in place (parameter names and checkpoints stay the
        eager ones) only without the gradient penalty, whose double backward compiled graphs do not support.
        Static shapes: the steps use a few batch sizes only, and the backward of the volume's rotation fails to
        compile with symbolic ones."""
        self.compiled_fake_renderer = torch.compile(self.generator.forward, dynamic=False)
        if not self.enabled("gradient_penalty"):
            self.viewpoint_net.compile(dynamic=False)

    def render_fakes(self, codes: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        """Fakes for the V step, without gradient; compiled when ``trainer.compile`` is set."""
        with torch.no_grad():
            return (self.compiled_fake_renderer or self.generator)(codes, views)

    # ----------------------------------------------------------------------------------------------- sampling
    def draw_codes(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        code_size = self.config.model.code_size
        device = generator.device if generator is not None else None
        return torch.rand(count, 2 * code_size, generator=generator, device=device) * 2.0 - 1.0

    def this_ranks_share(self, draw: Callable[[int, torch.Generator], torch.Tensor], count: int) -> torch.Tensor:
        """Draws for the global batch and keeps this rank's slice.

        Every rank draws the same numbers, so the ranks together see one global batch of distinct
        samples, exactly as a single process with the global batch would.
        """
        world, rank = (self.trainer.world_size, self.trainer.global_rank) if self._trainer else (1, 0)
        drawn = draw(count * world, self.latent_generator)
        return drawn[rank * count:(rank + 1) * count].to(device=self.device, dtype=self.dtype)

    def sample_latents(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Style codes z ~ U(-1, 1) and viewpoints uniform in the configured ranges."""
        codes = self.this_ranks_share(self.draw_codes, count)
        views = self.this_ranks_share(lambda n, rng: sample_views(n, self.view_ranges.cpu(), generator=rng), count)
        return codes, views

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["latent_generator"] = self.latent_generator.get_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        if "latent_generator" in checkpoint:
            self.latent_generator.set_state(checkpoint["latent_generator"])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted viewpoints ``[B, 3]`` (radians) of images in [-1, 1], each image on its own."""
        return self.viewpoint_net.read_views(images)

    # ----------------------------------------------------------------------------------------------- training
    def configure_optimizers(self):
        optim = self.config.optim
        betas = tuple(optim.betas)
        mapping = list(self.generator.mapping.parameters())
        mapping_ids = {id(p) for p in mapping}
        synthesis = [p for p in self.generator.parameters() if id(p) not in mapping_ids]
        viewpoint_optimizer = torch.optim.Adam(
            self.viewpoint_net.parameters(), lr=optim.lr, betas=betas, eps=optim.eps
        )
        synthesis_optimizer = torch.optim.Adam(
            [{"params": synthesis}, {"params": mapping, "lr": optim.lr * optim.mapping_lr_mult}],
            lr=optim.lr,
            betas=betas,
            eps=optim.eps,
        )
        return [viewpoint_optimizer, synthesis_optimizer]

    def training_step(self, batch: dict, batch_idx: int) -> None:
        viewpoint_optimizer, synthesis_optimizer = self.optimizers()
        viewpoint = self._optimise(viewpoint_optimizer, lambda: self.viewpoint_step_losses(batch))
        synthesis = self._optimise(
            synthesis_optimizer, lambda: self.synthesis_step_losses(batch["image"].shape[0], batch["image"])
        )
        self.update_ema()
        logged = {f"v/{name}": value for name, value in viewpoint.terms.items()}
        logged.update({f"s/{name}": value for name, value in synthesis.terms.items()})
        logged.update(viewpoint.metrics)
        logged.update(synthesis.metrics)
        logged = self.mean_over_ranks(logged)
        shown = ("v/total", "s/total", *viewpoint.metrics, *synthesis.metrics)
        self.log_dict({name: value for name, value in logged.items() if name not in shown}, on_step=True)
        self.log_dict({name: logged[name] for name in shown}, prog_bar=True, on_step=True)
        self.log("iteration", float(self.iteration), on_step=True)

    def mean_over_ranks(self, values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Every logged term averaged over the DDP ranks, in one all-reduce."""
        stacked = torch.stack([value.float() for value in values.values()])
        if self._trainer is not None and self.trainer.world_size > 1:
            stacked = self.trainer.strategy.reduce(stacked, reduce_op="mean")
        return dict(zip(values, stacked))

    @property
    def iteration(self) -> int:
        """SSV iterations done; Lightning's global_step counts both optimizers' steps."""
        return self.global_step // 2

    def _optimise(self, optimizer, compute_losses: Callable[[], StepLosses]) -> StepLosses:
        """One step of one network: the other network's parameters get no gradients.

        Returns the detached terms with their weighted ``total``, and the metrics.
        """
        self.toggle_optimizer(optimizer)
        terms, metrics = compute_losses()
        total = self.weighted_total(terms)
        # False only when every term of this step is switched off.
        if total.requires_grad and self._all_ranks_finite(total, terms):
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(total)
            optimizer.step()
        self.untoggle_optimizer(optimizer)
        logged = {name: value.detach() for name, value in terms.items()}
        logged["total"] = total.detach()
        return StepLosses(logged, metrics)

    def _all_ranks_finite(self, total: torch.Tensor, terms: dict[str, torch.Tensor]) -> bool:
        """False skips the step on every rank; too many such steps stop training."""
        finite = bool(torch.isfinite(total))
        if self._trainer is not None:
            finite = self.trainer.strategy.reduce_boolean_decision(finite, all=True)
        if finite:
            return True
        self.non_finite_steps += 1
        culprits = [name for name, value in terms.items() if not torch.isfinite(value)] or ["another rank's loss"]
        limit = self.config.trainer.max_non_finite_steps
        message = (f"non-finite loss at iteration {self.iteration} from {', '.join(culprits)} "
                   f"({self.non_finite_steps}/{limit} allowed)")
        if self.non_finite_steps >= limit:
            raise FloatingPointError(
                f"{message}: stopping; lower the learning rate or resume from an earlier checkpoint"
            )
        log.warning("%s: step skipped, weights kept from the last good step", message)
        return False

    def loss_weight(self, term: str) -> float:
        """``loss.<term>`` of the config: every term is weighted under its own name.

        A lazy gradient penalty (``optim.gradient_penalty_every`` N) weighs N times as much on the iterations that
        compute it; the logged term stays the penalty itself.
        """
        weight = float(self.config.loss[term])
        if term == "gradient_penalty":
            weight *= self.config.optim.gradient_penalty_every
        return weight

    def weighted_total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        weighted = [self.loss_weight(name) * value for name, value in terms.items()]
        return sum(weighted, torch.zeros((), device=self.device))

    def enabled(self, term: str) -> bool:
        return self.loss_weight(term) > 0

    def as_seen_by_v(self, *batches: torch.Tensor) -> list[torch.Tensor]:
        """The batches after ``data.shared_augmentations``, every image drawing its own parameters."""
        if self.shared_augmentation is None:
            return list(batches)
        return list(self.shared_augmentation(torch.cat(batches)).split([len(batch) for batch in batches]))

    def viewpoint_outputs(self, *batches: torch.Tensor) -> list[ViewpointOutput]:
        """V on equal-sized independent batches, in one pass; minibatch stddev stays within each batch."""
        return self.viewpoint_net(torch.cat(batches), sources=len(batches)).split(len(batches))

    def generate(self, *latents: tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
        """S on several batches of sampled (codes, views), in one pass (S treats every sample on its own)."""
        codes, views = (torch.cat(parts) for parts in zip(*latents))
        return list(self.synthesise(codes, views).split([len(batch_codes) for batch_codes, _ in latents]))

    def synthesise(self, codes: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        """S(codes, views), building the pre-rotation volume once per distinct sampled code.

        The S step renders each style at several viewpoints; the volume depends on the code alone. The codes
        are sampled, so no gradient needs to reach them through ``unique``.
        """
        distinct, style_of_sample = torch.unique(codes, dim=0, return_inverse=True)
        # index_select, not [], whose backward on CPU accumulates repeated rows in a nondeterministic order.
        volumes = self.generator.styled_volume(distinct).index_select(0, style_of_sample)
        return self.generator.render(volumes, codes, views)

    def viewpoint_step_losses(self, batch: dict) -> StepLosses:
        """Step 1 of an iteration (docs/method.md): the losses that train V, with S frozen."""
        real, mirror = batch["image"], batch["mirror"]
        batch_size, fake_batches = real.shape[0], self.config.data.fakes_per_real
        codes, views = self.sample_latents(batch_size * fake_batches)
        fakes = self.render_fakes(codes, views)
        symmetry = self.enabled("sym") or self.enabled("sym_style")
        mirrors = [mirror] if symmetry else []
        seen_real, *seen_mirrors, seen_fakes = self.as_seen_by_v(real, *mirrors, fakes)
        seen_fakes = seen_fakes.split(batch_size)
        real_out, *outputs = self.viewpoint_outputs(seen_real, *seen_mirrors, *seen_fakes)
        mirror_out, (fake_out, *extra_out) = outputs[:len(mirrors)], outputs[len(mirrors):]
        # How far the critic tells reals from fakes: a metric, not a term.
        metrics = {"wgan_gap": (real_out.score.mean() - fake_out.score.mean()).detach()}
        terms = {}
        if self.enabled("adversarial"):
            terms["adversarial"] = losses.adversarial_loss(fake_out.score, real_out.score)
        if self.enabled("drift"):
            terms["drift"] = losses.drift_loss(real_out.score)
        every = self.config.optim.gradient_penalty_every
        if self.enabled("gradient_penalty") and self.iteration % every == 0:
            blend = self.this_ranks_share(lambda n, rng: torch.rand(n, 1, 1, 1, generator=rng), real.shape[0])
            terms["gradient_penalty"] = losses.gradient_penalty_loss(
                lambda x: self.viewpoint_net(x).score, seen_real, seen_fakes[0], blend
            )
        # Every fake batch teaches V to read style and viewpoint; the first one alone plays the critic's game.
        all_fakes_out = ViewpointOutput(*(torch.cat(field) for field in zip(fake_out, *extra_out)))
        terms.update(self.reconstruction_terms(all_fakes_out, codes, views))
        if symmetry:
            terms.update(self._symmetry_terms(real_out, *mirror_out))
        if self.enabled("imc"):  # S re-renders the image V read, before any augmentation
            terms["imc"] = self._image_consistency(real, real_out)
        return StepLosses(terms, metrics)

    def synthesis_step_losses(self, batch_size: int, real: torch.Tensor | None = None) -> StepLosses:
        """Step 2 of an iteration (docs/method.md): the losses that train S, with V frozen.

        ``real``: the real batch, for L_imc when ``imc.trains_generator`` is set.
        """
        codes_a, views_a = self.sample_latents(batch_size)
        codes_b, views_b = self.sample_latents(batch_size)
        # Pairs sharing a style (a, a) and pairs sharing a viewpoint (a, b): 3B images.
        codes = torch.cat([codes_a, codes_a, codes_b])
        views = torch.cat([views_a, views_b, views_a])
        flip = [(codes_a, mirror_view(views_a))] if self.enabled("gen_flip") else []
        images, *mirrored = self.generate((codes, views), *flip)
        output = self.viewpoint_net(*self.as_seen_by_v(images))
        terms = {}
        if self.enabled("adversarial"):
            terms["adversarial"] = losses.adversarial_loss(output.score)
        terms.update(self.reconstruction_terms(output, codes, views))
        if mirrored:
            terms["gen_flip"] = losses.gen_flip_loss(*mirrored, images[:batch_size])
        if real is not None and self.config.imc.trains_generator and self.enabled("imc"):
            with torch.no_grad():  # V's readings are fixed targets here: the gradient reaches S alone
                real_out = self.viewpoint_net(*self.as_seen_by_v(real))
            terms["imc"] = self._image_consistency(real, real_out)
        return StepLosses(terms, metrics={})

    def reconstruction_terms(
        self, output: ViewpointOutput, codes: torch.Tensor, views: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Generative consistency: V recovers the style and viewpoint S was given."""
        terms = {}
        if self.enabled("style"):  # the part of z S reads: V cannot read an unused z2
            model = self.config.model
            used = model.code_size * (2 if model.image_styles else 1)
            terms["style"] = losses.style_loss(output.style[:, :used], codes[:, :used])
        if self.enabled("view"):
            terms["view"] = losses.view_loss(output, views)
        return terms

    def _symmetry_terms(self, real_out: ViewpointOutput, mirror_out: ViewpointOutput) -> dict[str, torch.Tensor]:
        terms = {}
        if self.enabled("sym"):
            terms["sym"] = losses.sym_loss(real_out, mirror_out)
        if self.enabled("sym_style"):
            terms["sym_style"] = losses.sym_style_loss(real_out, mirror_out)
        return terms

    def _image_consistency(self, real: torch.Tensor, real_out: ViewpointOutput) -> torch.Tensor:
        """L_imc: S re-renders the image from V's style and viewpoint; compare features."""
        views = decode(real_out.magnitude_logits, real_out.sign_logits, self.config.imc.sign_readout)
        reconstruction = self.generator(real_out.style, views)
        if self.consistency_features is None:  # "encoder": V's own trunk, as a fixed feature extractor
            with frozen(self.viewpoint_net):
                return losses.imc_loss(
                    self.viewpoint_net.trunk(real).detach(), self.viewpoint_net.trunk(reconstruction)
                )
        with torch.no_grad():
            real_features = self.consistency_features(real)
        return losses.imc_loss(real_features, self.consistency_features(reconstruction))

    @torch.no_grad()
    def update_ema(self) -> None:
        """EMA of S: ema <- ema + (1 - decay) * (S - ema); buffers are copied."""
        weight = 1.0 - self.config.optim.ema_decay
        for ema_parameter, parameter in zip(self.ema_generator.parameters(), self.generator.parameters()):
            ema_parameter.lerp_(parameter, weight)
        for ema_buffer, buffer in zip(self.ema_generator.buffers(), self.generator.buffers()):
            ema_buffer.copy_(buffer)

    # ----------------------------------------------------------------------------------------------- samples
    @torch.no_grad()
    def sample_images(self) -> torch.Tensor:
        """EMA generator on fixed styles and viewpoints, ``[SAMPLE_COUNT, 3, S, S]``."""
        return self.ema_generator(self.fixed_codes, self.fixed_views)

    @torch.no_grad()
    def viewpoint_sweep(self) -> torch.Tensor:
        """One fixed style; rows vary azimuth, elevation, tilt across their ranges: ``[3 * SWEEP_STEPS, 3, S, S]``."""
        steps = torch.linspace(-1.0, 1.0, SWEEP_STEPS, device=self.device)
        views = torch.zeros(3, SWEEP_STEPS, 3, device=self.device)
        for angle in range(3):
            views[angle, :, angle] = steps * self.view_ranges[angle]
        codes = self.fixed_codes[:1].expand(3 * SWEEP_STEPS, -1)
        return self.ema_generator(codes, views.flatten(0, 1))
