"""The suite as another repository uses it: a wheel installed into a fresh virtual environment,
with no checkout on its path, runs exactly the schemas and suites a clone runs."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

import conformance
from conformance.contract import data

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = {"schemas": "conformance/data/schemas", "suites": "conformance/data/suites"}


def tracked(folder: str) -> dict[str, bytes]:
    """The repository's own files of a folder (git's list, so no __pycache__), by relative path."""
    names = subprocess.run(
        ["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {str(Path(name).relative_to(folder)): (ROOT / name).read_bytes() for name in names}


def test_the_packaged_pytest_settings_are_the_checkout_s():
    """An installed run reads conformance/data/pytest.ini, a checkout pyproject.toml: the same
    settings (the installed one adds only that it keeps no cache beside the package)."""
    ini = configparser.ConfigParser()
    ini.read(data.PYTEST_INI)
    packaged = dict(ini["pytest"])
    checkout = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert packaged.pop("addopts").split() == [*checkout["addopts"], "-p", "no:cacheprovider"]
    for key in ("minversion", "xfail_strict", "timeout", "conformance_suites"):
        assert packaged.pop(key) == str(checkout[key]).lower(), key
    assert packaged.pop("filterwarnings").split() == checkout["filterwarnings"]
    assert packaged == {}, f"a packaged setting the checkout does not have: {packaged}"


def test_a_checkout_s_package_data_are_the_repository_s_own_folders():
    for name in ("schemas", "suites"):
        assert (data.DATA / name).resolve() == ROOT / name
    assert data.checkout() == ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """The wheel, built from this checkout and installed with its dependencies into a fresh
    virtual environment in a temporary folder; returns (the environment, the wheel)."""
    base = tmp_path_factory.mktemp("installed")
    source, dist = base / "source", base / "dist"
    # the checkout's files as git sees them (no build/ left by an earlier build, no __pycache__)
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        origin, copy = ROOT / name, source / name
        if not origin.is_symlink() and not origin.exists():
            continue  # deleted, not yet committed
        copy.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            copy.symlink_to(os.readlink(origin))
        else:
            shutil.copy2(origin, copy)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("unpause_conformance-*.whl")
    environment = base / "venv"
    # no ensurepip (3.5 s): this interpreter's pip installs into it (--python)
    venv.create(environment, with_pip=False)
    into = ["--python", str(environment / "bin" / "python")]
    pip = subprocess.run(
        [sys.executable, "-m", "pip", *into, "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    return environment, wheel


def outside(environment: Path, cwd: Path, *args: str, **overrides: str) -> subprocess.CompletedProcess:
    """``unpause-conformance`` as a user runs it: from a folder of theirs, with nothing of this
    checkout in the environment (no PYTHONPATH, no schemas override)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "CONFORMANCE_", "PYTEST_", "VIRTUAL_ENV")) and key != "CI"
    }
    env["PATH"] = f"{environment / 'bin'}:{env['PATH']}"
    env.update(overrides)
    return subprocess.run(
        [str(environment / "bin" / "unpause-conformance"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.subprocess
def test_the_wheel_carries_the_repository_s_schemas_and_suites_byte_for_byte(installed):
    _environment, wheel = installed
    with zipfile.ZipFile(wheel) as archive:
        for folder, inside in PACKAGED.items():
            packaged = {
                name.removeprefix(inside + "/"): archive.read(name)
                for name in archive.namelist()
                if name.startswith(inside + "/")
            }
            assert packaged == tracked(folder), f"{inside} differs from {folder}/"


@pytest.mark.subprocess
def test_installed_outside_the_checkout_it_passes_the_embedded_mock_and_writes_reports(installed, tmp_path):
    environment, _wheel = installed
    where = subprocess.run(
        [str(environment / "bin" / "python"), "-c", "import conformance; print(conformance.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    ).stdout
    assert str(environment) in where, where
    assert str(ROOT) not in where, where
    version = outside(environment, tmp_path, "--version")
    assert version.stdout.startswith("unpause-conformance 0."), version.stdout

    completed = outside(environment, tmp_path, "run", "--hypothesis-profile=quick")
    tail = completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.returncode == 0, tail
    assert completed.stdout.strip().splitlines()[-1].startswith("PASSED: no MUST rule broken"), tail
    reports = tmp_path / "reports"
    for name in ("junit.xml", "verdicts.json", "conformance-matrix.md", "html/conformance-matrix.html"):
        assert (reports / name).is_file(), f"{name} missing: {sorted(p.name for p in reports.iterdir())}"
    assert "suites/test_state.py::" in (reports / "verdicts.json").read_text(), "node ids as in a checkout"


@pytest.mark.subprocess
def test_installed_without_node_it_names_the_broken_rule_and_says_how_to_get_the_html(installed, tmp_path):
    """One mock fault, with no npm on the PATH and no generator installed: exit 1, the rule named,
    JUnit, verdicts.json and the matrix pages written, and one line on getting the Allure report."""
    environment, _wheel = installed
    completed = outside(
        environment,
        tmp_path,
        "run",
        "--reports",
        "out",
        "--rule=INV-CTR",
        "--mock-fault=ctr-as-percent",
        PATH=str(environment / "bin"),
        XDG_CACHE_HOME=str(tmp_path / "cache"),  # no generator installed by an earlier run
    )
    tail = completed.stdout[-3000:] + completed.stderr[-3000:]
    assert completed.returncode == 1, tail
    assert completed.stdout.strip().splitlines()[-1] == "FAILED: MUST INV-CTR on 2026-06-20", tail
    assert "rerun: unpause-conformance run --rule=INV-CTR --mock-fault=ctr-as-percent" in completed.stdout
    advice = [line for line in completed.stderr.splitlines() if "no Allure report" in line]
    assert len(advice) == 1, completed.stderr[-2000:]
    assert "unpause-conformance render" in advice[0]
    reports = tmp_path / "out"
    for name in ("junit.xml", "verdicts.json", "html/conformance-matrix.html", "badges"):
        assert (reports / name).exists(), name
    assert not (reports / "html" / "index.html").exists()


def test_the_command_lists_what_the_plugin_lists_and_refuses_an_unknown_command(capsys):
    from conformance.command import main
    from conformance.mock.listing import listing

    assert main(["--list-faults", "--list-profiles"]) == 0
    assert capsys.readouterr().out == listing(True, True) + "\n"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"unpause-conformance {conformance.__version__}\n"
    assert main(["runn"]) == 4
    assert "unknown command 'runn'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "folder", "rest"),
    [
        (["--reports", "out", "-k", "x"], "out", ["-k", "x"]),
        (["-x", "--reports=a/b"], "a/b", ["-x"]),
        (["--base-url", "http://127.0.0.1:1"], None, ["--base-url", "http://127.0.0.1:1"]),
    ],
)
def test_reports_is_taken_from_among_pytest_s_options(args, folder, rest):
    from conformance.report.cli import reports_option

    assert reports_option(args) == (Path(folder) if folder else None, rest)


def test_reports_without_a_folder_is_a_usage_error(capsys):
    from conformance.report.cli import main

    assert main(["run", "--", "-q", "--reports"]) == 4
    assert "--reports needs a folder" in capsys.readouterr().err


@pytest.mark.subprocess
def test_a_listing_cut_short_by_its_reader_ends_quietly():
    """`unpause-conformance --list-faults | head`: a reader that closes the pipe before the listing
    is written (it all fits in the pipe's buffer otherwise) gets no traceback on the way."""
    command = [sys.executable, "-m", "conformance.command", "--list-faults", "--list-profiles"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        process.stdout.close()  # while the command still imports: its every write meets a closed pipe
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=30) == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "BrokenPipeError" not in stderr, stderr
