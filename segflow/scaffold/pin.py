"""What the workflows `seg init` writes install: the segflow that wrote them.

pip records where a package came from when it was installed from a URL (PEP 610,
https://packaging.python.org/en/latest/specifications/direct-url/): a git URL and its commit,
or an archive's URL. That source installs anywhere, so it is pinned as is. A local folder or file
(`pip install .`, `pip install -e .`) exists only on this machine, and a plain `pip install
segflow==X` records nothing: then the pin is the exact version, which installs once that release
is on PyPI (docs/gitops.md says how to point the workflows elsewhere before then).
"""

from __future__ import annotations

import json
import re
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from urllib.parse import urlsplit

# what may appear between the double quotes of a YAML value and on a pip command line
_SAFE_URL = re.compile(r"^(git\+)?https://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$")
_SAFE_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")


def install_spec(dist: Distribution | None = None) -> str:
    """A pip requirement for exactly this segflow: its git commit or archive, else its version."""
    if dist is None:
        try:
            dist = distribution("segflow")
        except PackageNotFoundError:
            from segflow import __version__

            return f"segflow=={__version__}"
    pinned = f"segflow=={dist.version}"
    try:
        origin = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return pinned
    if not isinstance(origin, dict) or not isinstance(origin.get("url"), str):
        return pinned
    url = origin["url"]
    vcs = origin.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git":
        commit = vcs.get("commit_id", "")
        source = url if url.startswith("git+") else f"git+{url}"
        if _SAFE_COMMIT.match(commit) and _public(source):
            return f"segflow @ {source}@{commit}"
        return pinned
    if isinstance(origin.get("archive_info"), dict) and not url.startswith("git+") \
            and _public(url):
        return f"segflow @ {url}"
    return pinned  # a folder or file on this machine: nowhere else can install it


def _public(url: str) -> bool:
    """An https URL without credentials, and nothing a YAML string or a shell would misread."""
    if not _SAFE_URL.match(url):
        return False
    parts = urlsplit(url.removeprefix("git+"))
    return parts.scheme == "https" and bool(parts.hostname) and parts.username is None \
        and "@" not in parts.path and not parts.fragment
