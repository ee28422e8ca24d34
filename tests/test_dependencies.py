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


def _runtime_requirements() -> set[str]:
    """The distributions `pip install .` brings: the project's own and theirs, recursively."""
    import re
    from importlib.metadata import requires

    def name(requirement: str) -> str:
        return re.split(r"[\s\[<>=!~;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    seen: set[str] = set()
    pending = [name(r) for r in requires("mutuals-forum") or [] if "extra ==" not in r]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            pending += [name(r) for r in requires(current) or [] if "extra ==" not in r]
        except Exception:  # an optional extra's package that is not installed
            continue
    return seen


def test_every_module_the_application_imports_comes_with_a_plain_install() -> None:
    """Development tools must not be what makes the application run (`make run` installs
    without them)."""
    import ast
    import sys
    from importlib.metadata import packages_distributions
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    imported: set[str] = set()
    for package in ("forum", "search_index"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module.split(".")[0])
    distributions = packages_distributions()
    runtime = _runtime_requirements()
    missing = {
        module: distributions[module] for module in imported
        if module in distributions and module not in sys.stdlib_module_names
        and module not in ("forum", "search_index")
        and not {d.lower().replace("_", "-") for d in distributions[module]} & runtime
    }
    assert not missing, f"imported by the application but only installed for development: {missing}"
