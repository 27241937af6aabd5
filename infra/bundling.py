"""Docker-free bundling of Python code for Lambda and for the warehouse host.

CDK asks an ``ILocalBundling`` first and falls back to Docker only when it
returns False; ours always succeeds, so the dummy image is never pulled.

Two modes, chosen by the context value ``clickstream:bundling``:

- ``full`` (``make synth``, ``cdk deploy``): copy the sources, then
  ``pip install --platform ... --only-binary=:all: --target`` the runtime
  dependencies from pyproject's ``[project.dependencies]`` for the target
  Python and CPU. No Docker; wheels only.
- ``source`` (the template tests): copy the sources only. No network, no pip,
  a few milliseconds per asset.

Every asset carries a hash of exactly what goes into it (the mode, the
requirement list, the target platform and the bytes of every copied file), so
CDK re-bundles when, and only when, one of those changes.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling

from infra import constants as c

_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", "node_modules", "tests"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def runtime_requirements(pyproject: Path = c.REPO_ROOT / "pyproject.toml") -> list[str]:
    """The runtime dependencies, exactly as pyproject's [project.dependencies] lists them."""
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["project"]["dependencies"])


def optional_requirements(extra: str, pyproject: Path = c.REPO_ROOT / "pyproject.toml") -> list[str]:
    with pyproject.open("rb") as f:
        return list(tomllib.load(f)["project"]["optional-dependencies"][extra])


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part in _SKIP_DIRS for part in rel.parts) or path.suffix in _SKIP_SUFFIXES:
            continue
        if path.is_file():
            out.append(path)
    return out


@dataclass(frozen=True)
class Copy:
    """Copy ``source`` (a file or a directory) to ``dest`` inside the bundle."""

    source: Path
    dest: str


@dataclass(frozen=True)
class PythonTarget:
    """Where the installed dependencies will run."""

    python_version: str  # "3.12"
    platforms: tuple[str, ...]  # manylinux tags of the CPU


@jsii.implements(ILocalBundling)
class LocalPythonBundling:
    """Copies sources and, in full mode, pip-installs wheels for the target into ``install_dir``."""

    def __init__(
        self,
        copies: Sequence[Copy],
        requirements: Sequence[str],
        target: PythonTarget,
        install_dir: str,
        full: bool,
        placeholders: dict[str, str] | None = None,
    ) -> None:
        self.copies = list(copies)
        self.requirements = list(requirements)
        self.target = target
        self.install_dir = install_dir
        self.full = full
        # Files written when a source is missing (source mode only): lets the
        # template tests run while a handler is still being written.
        self.placeholders = placeholders or {}

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        digest.update(f"full={self.full}\n{self.target}\n{self.install_dir}\n".encode())
        for requirement in self.requirements:
            digest.update(f"req {requirement}\n".encode())
        for name, text in sorted(self.placeholders.items()):
            digest.update(f"placeholder {name}\n{text}\n".encode())
        for copy in self.copies:
            digest.update(f"copy {copy.dest}\n".encode())
            for path in _files(copy.source):
                rel = path.relative_to(copy.source).as_posix() if copy.source.is_dir() else path.name
                digest.update(f"file {rel}\n".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    def try_bundle(self, output_dir: str, options: Any = None) -> bool:
        out = Path(output_dir)
        for copy in self.copies:
            dest = out / copy.dest
            if copy.source.is_file():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(copy.source, dest)
            elif copy.source.is_dir():
                shutil.copytree(
                    copy.source,
                    dest,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*_SKIP_DIRS, *(f"*{s}" for s in _SKIP_SUFFIXES)),
                )
        for name, text in self.placeholders.items():
            path = out / name
            if not path.exists():
                if self.full:
                    raise FileNotFoundError(f"{name} is missing from the bundle; cannot deploy without it")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
        if self.full and self.requirements:
            self._pip_install(out / self.install_dir)
        return True

    def _pip_install(self, target_dir: Path) -> None:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--ignore-installed",
            "--no-compile",
            "--no-warn-conflicts",  # the build environment's own packages are not the target's
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            self.target.python_version,
            *(arg for platform in self.target.platforms for arg in ("--platform", platform)),
            "--target",
            str(target_dir),
            *self.requirements,
        ]
        print(
            f"bundling: pip install {len(self.requirements)} requirements into {target_dir}", file=sys.stderr
        )
        subprocess.run(command, check=True)
        shutil.rmtree(target_dir / "bin", ignore_errors=True)


def bundled_asset_options(bundler: LocalPythonBundling) -> dict[str, Any]:
    """Keyword arguments for ``Code.from_asset`` / ``Asset`` that bundle with ``bundler``."""
    return {
        "asset_hash": bundler.fingerprint(),
        "asset_hash_type": AssetHashType.CUSTOM,
        "bundling": BundlingOptions(
            local=bundler,
            # Never pulled: the local bundler above always succeeds.
            image=DockerImage.from_registry("dummy"),
        ),
    }
