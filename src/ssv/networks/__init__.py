"""The SSV networks: synthesis S(z, v), viewpoint/discriminator V(x) and image-consistency features Phi."""

from ssv.networks.features import ALEXNET_IMAGENET_URL, FEATURE_KINDS, build_consistency_features
from ssv.networks.synthesis import MappingNetwork, SynthesisNetwork, rotate_volume
from ssv.networks.viewpoint_net import ViewpointNetwork, ViewpointOutput

__all__ = [
    "ALEXNET_IMAGENET_URL",
    "FEATURE_KINDS",
    "MappingNetwork",
    "SynthesisNetwork",
    "ViewpointNetwork",
    "ViewpointOutput",
    "build_consistency_features",
    "rotate_volume",
]
