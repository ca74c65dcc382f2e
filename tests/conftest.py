import os
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

import pytest  # noqa: E402
import torch  # noqa: E402

TINY_TRAINING = [
    "model.width=0.125",
    "model.code_size=8",
    "model.mapping_layers=2",
    "imc.weights=null",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.synthetic.num_train=12",
    "data.synthetic.num_test=2",
    "trainer.logger=csv",
    "evaluation.after_training=false",
]


def tiny_training_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["--category", "faces", "--profile", "small", *TINY_TRAINING,
            f"runs_dir={tmp_path / 'runs'}", f"data.synthetic.cache_dir={tmp_path / 'synthetic'}", *extra]


@pytest.fixture
def tiny_args():
    """``tiny_args(tmp_path, *extra)``: ``ssv.train`` arguments of a tiny CSV-logged run writing under ``tmp_path``."""
    return tiny_training_args


@pytest.fixture(autouse=True)
def _seed_everything():
    torch.manual_seed(0)


class _MakesAFolderWhenUnpickled:
    def __init__(self, folder):
        self.folder = str(folder)

    def __reduce__(self):
        return os.mkdir, (self.folder,)


@pytest.fixture
def code_running_file(tmp_path):
    """``code_running_file(path)``: writes a checkpoint-like file whose unpickling runs code (it creates a folder);
    returns that folder, which exists afterwards only if something loaded the file unsafely."""

    def write(path):
        marker = tmp_path / f"code-ran-{path.name}"
        torch.save({"state_dict": {}, "payload": _MakesAFolderWhenUnpickled(marker)}, path)
        return marker

    return write


# Fixtures that train a model, render a collection, export a model or start a Python process: a test using one
# (by argument, or by a parameter that names it for ``request.getfixturevalue``) is marked ``integration`` and
# left out of `make test-quick`.
INTEGRATION_FIXTURES = {"ssv_checkpoint", "supervised_checkpoint", "rendered_faces", "onnx_model", "run_python",
                        "tiny_args"}


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            used |= {value for value in callspec.params.values() if isinstance(value, str)}
        if INTEGRATION_FIXTURES & used:
            item.add_marker(pytest.mark.integration)
