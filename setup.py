"""Which files the wheel holds; setup.cfg has the rest. Packages are found, not listed, so a new one ships.

The top-level ``experiments/`` folder ships as the data of ``ssv.experiments``, where an installed ``ssv.config``
finds it; in a checkout it stays where it is.
"""

from setuptools import find_packages, setup

setup(
    package_dir={"": "src", "datamodules": "datamodules", "ssv.experiments": "experiments"},
    packages=[*find_packages("src"), *find_packages(".", include=["datamodules", "datamodules.*"]), "ssv.experiments"],
    package_data={"ssv.experiments": ["*.yaml", "profiles/*.yaml", "sweeps/*.yaml"]},
)
