"""The SSV networks: synthesis S(z, v), viewpoint/discriminator V(x) and image-consistency features Phi."""

from ssv.networks.features import (
    ALEXNET_IMAGENET_URL,
    FEATURE_KINDS,
    AlexNetConv2Features,
    build_consistency_features,
    load_alexnet_weights,
)
from ssv.networks.synthesis import MappingNetwork, SynthesisNetwork, rotate_volume
from ssv.networks.viewpoint_net import ViewpointNetwork, ViewpointOutput

__all__ = [
    "synthesis_network_from",
    "viewpoint_network_from",
    "ALEXNET_IMAGENET_URL",
    "AlexNetConv2Features",
    "FEATURE_KINDS",
    "MappingNetwork",
    "SynthesisNetwork",
    "ViewpointNetwork",
    "ViewpointOutput",
    "build_consistency_features",
    "load_alexnet_weights",
    "rotate_volume",
]


def synthesis_network_from(model) -> SynthesisNetwork:
    """S built from a ``model`` config section (``ssv.config.ModelConfig``)."""
    return SynthesisNetwork(
        image_size=model.image_size,
        code_size=model.code_size,
        width=model.width,
        mapping_layers=model.mapping_layers,
        rotation_sampling=model.rotation_sampling,
        style_init_scale=model.style_init_scale,
        image_style_init_scale=model.image_style_init_scale,
        volume_size=model.volume_size,
        image_styles=model.image_styles,
    )


def viewpoint_network_from(model, network_class: type[ViewpointNetwork] = ViewpointNetwork) -> ViewpointNetwork:
    """V built from a ``model`` config section (``ssv.config.ModelConfig``)."""
    return network_class(
        image_size=model.image_size,
        code_size=model.code_size,
        width=model.width if model.viewpoint_width is None else model.viewpoint_width,
        head_dropout=model.head_dropout,
        stddev_group=model.stddev_group,
        full_resolution=model.viewpoint_full_resolution,
        sign_readout=model.sign_readout,
    )
