"""Dependencies stay at versions free of the advisories we know about.

pip-audit (run by `make test`) checks every package against the advisory
databases when it can reach them; these floors hold even where it cannot.
"""

from importlib.metadata import version

import pytest
from packaging.version import Version

FLOORS = {
    "starlette": "1.3.0",
    "authlib": "1.6.11",
    "jinja2": "3.1.6",
    "python-multipart": "0.0.18",
    "cryptography": "44.0.1",
}


@pytest.mark.parametrize("package, floor", sorted(FLOORS.items()))
def test_installed_dependency_is_at_least_the_safe_version(package: str, floor: str) -> None:
    assert Version(version(package)) >= Version(floor)
