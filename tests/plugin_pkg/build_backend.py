"""A dependency-free PEP 517 build backend for this test package: it writes a pure-Python wheel
whose .dist-info holds METADATA, WHEEL, RECORD and entry_points.txt, the latter from
pyproject.toml's [project.entry-points] tables (what setuptools would write).

Why not setuptools: the project's venv has setuptools 65 without the ``wheel`` package, so
``pip install --no-build-isolation`` of a setuptools project fails there ("invalid command
'bdist_wheel'"), and a build with isolation needs a package index. With this backend pip
installs the package for real, offline, in a second.
"""

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    p = _project()
    dist = p["name"].replace("-", "_")
    info = f"{dist}-{p['version']}.dist-info"
    files = {str(f.relative_to(ROOT / "src")): f.read_bytes() for f in sorted((ROOT / "src").rglob("*.py"))}
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: {p['name']}\nVersion: {p['version']}\n"
                                 f"Summary: {p.get('description', '')}\n"
                                 + "".join(f"Requires-Dist: {r}\n" for r in p.get("dependencies", []))).encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: build_backend.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{info}/entry_points.txt"] = "".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) + "\n"
        for group, eps in p.get("entry-points", {}).items()).encode()
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
              for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()
    name = f"{dist}-{p['version']}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / name, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return name
