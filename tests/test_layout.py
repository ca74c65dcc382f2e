"""``tests/`` mirrors the source tree: every module ``src/ssv/<path>/<name>.py`` has
``tests/ssv/<path>/test_<name>.py`` and every ``datamodules/<path>/<name>.py`` has
``tests/datamodules/<path>/test_<name>.py``; package ``__init__.py`` and ``__main__.py`` files are left out."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_FOLDERS = {"ssv": ROOT / "src" / "ssv", "datamodules": ROOT / "datamodules"}
NOT_MODULES = {"__init__.py", "__main__.py"}


def modules_without_a_test(root: Path, source_folders: dict[str, Path]) -> list[str]:
    """One line per source module whose same-named file under ``root/tests/<package>`` is missing."""
    tests, missing = root / "tests", []
    for package, folder in source_folders.items():
        for module in sorted(folder.rglob("*.py")):
            if module.name in NOT_MODULES:
                continue
            relative = module.relative_to(folder)
            expected = tests / package / relative.parent / f"test_{relative.name}"
            if not expected.is_file():
                missing.append(f"{module.relative_to(root)} has no {expected.relative_to(root)}")
    return missing


def test_every_source_module_has_a_same_named_test_file():
    missing = modules_without_a_test(ROOT, SOURCE_FOLDERS)
    assert not missing, "\n".join(missing)


def test_a_module_without_a_test_file_is_named(tmp_path):
    source = tmp_path / "pkg"
    for path in ["__init__.py", "tested.py", "sub/__init__.py", "sub/__main__.py", "sub/untested.py"]:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).touch()
    (tmp_path / "tests" / "pkg").mkdir(parents=True)
    (tmp_path / "tests" / "pkg" / "test_tested.py").touch()
    assert modules_without_a_test(tmp_path, {"pkg": source}) == [
        "pkg/sub/untested.py has no tests/pkg/sub/test_untested.py"]
