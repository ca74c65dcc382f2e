import pytest


@pytest.fixture(scope="session")
def tiny_overrides() -> list[str]:
    """Config overrides of a tiny model, fast enough to measure in a test."""
    return ["model.image_size=32", "model.width=0.125", "model.code_size=8", "model.mapping_layers=2"]
