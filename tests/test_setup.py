"""The wheel that setup.py builds works without the checkout: installed into a fresh virtual environment and run
from a folder elsewhere, every console script answers ``--help`` and ``ssv-train`` trains on the configs it ships."""

import configparser
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("src", "datamodules", "experiments", "setup.py", "setup.cfg", "pyproject.toml", "README.md")

pytestmark = pytest.mark.slow


def console_scripts() -> list[str]:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    return [line.split("=")[0].strip() for line in config["options.entry_points"]["console_scripts"].split("\n")
            if line.strip()]


def run(command: list, cwd: Path) -> str:
    """Runs without the checkout on the path; the output of a failure is part of the assertion."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed; the dependencies come from this interpreter's
    site-packages through a ``.pth`` line, which adds the folder but not the checkout's editable-install hook."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"  # a copy, so the build leaves no build/ or egg-info in the checkout
    source.mkdir()
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(REPO / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "-q", "-w", root / "dist"],
        cwd=root)
    environment = root / "venv"
    venv.create(environment, with_pip=False)
    python = environment / "bin" / "python"
    site_packages = run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root).strip()
    shared = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site_packages) / "shared-dependencies.pth").write_text("\n".join(sorted(shared)) + "\n")
    wheel = next((root / "dist").glob("*.whl"))
    run([python, "-m", "pip", "install", "--no-deps", "--ignore-installed", "--no-index", "-q", wheel], cwd=root)
    return environment


def test_the_installed_packages_are_the_wheels(installed, tmp_path):
    imported = run([installed / "bin" / "python", "-c", "import ssv, datamodules; print(ssv.__file__); "
                    "print(datamodules.__file__)"], cwd=tmp_path).split()
    assert all(Path(path).is_relative_to(installed) for path in imported), imported


@pytest.mark.parametrize("script", console_scripts())
def test_every_console_script_answers_help(installed, tmp_path, script):
    assert "usage:" in run([installed / "bin" / script, "--help"], cwd=tmp_path)


def test_two_iterations_train_from_a_folder_outside_the_checkout(installed, tiny_args, tmp_path):
    arguments = tiny_args(tmp_path, "trainer.max_steps=2", "run_name=wheel")
    out = run([installed / "bin" / "ssv-train", *arguments], cwd=tmp_path)
    assert "SSV run finished" in out
    checkpoints = tmp_path / "runs" / "faces" / "wheel" / "checkpoints"
    assert (checkpoints / "last.ckpt").is_file()
