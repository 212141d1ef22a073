"""The layout a newcomer can read: apps import one way only (no cycles), modules stay small.

Top imports bottom, never the reverse; a lower app tells a higher one things by a signal or
a callable it is given (DESIGN.md, "Layout"). omsproject is two things: its shared helpers
(errors, decimals, serializer rules...) sit below every app; its composition root (settings,
urls, celery, the processes it wires) sits above them all.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Top first. An app may import only apps after it in this list.
LAYERS = ["omsproject.root", "metrics", "risk", "orders", "routing", "executions", "dispatch",
          "venues", "sessions", "marketdata", "omsproject.shared"]
ROOT_MODULES = {"settings", "test_settings", "urls", "celery", "wsgi", "asgi", "fixholder",
                "stack", "demo_venues", "health", "__init__"}
APPS = {"orders", "executions", "dispatch", "venues", "sessions", "marketdata", "metrics", "risk",
        "routing", "omsproject"}
MAX_LINES = 400
# Not apps (nothing imports them), but read by people all the same: kept small too.
OTHER_PACKAGES = ("exchange", "bench")


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in APPS:
        return None
    if parts[0] == "omsproject":
        return "omsproject.root" if len(parts) == 1 or parts[1] in ROOT_MODULES \
            else "omsproject.shared"
    return parts[0]


def sources():
    for app in sorted(APPS):
        for path in sorted((REPO / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # "from omsproject import errors" imports omsproject.errors, not the package.
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


@pytest.mark.parametrize("path", list(sources()), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_down_the_layers(path):
    own = layer_of(module_name(path))
    wrong = []
    for imported in imports_of(path):
        theirs = layer_of(imported)
        if theirs is None or theirs == own:
            continue
        if LAYERS.index(theirs) < LAYERS.index(own):
            wrong.append(f"{imported} ({theirs} is above {own})")
    assert not wrong, f"{path.relative_to(REPO)} imports upward: {wrong}"


def all_sources():
    yield from sources()
    for package in OTHER_PACKAGES:
        yield from sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("path", list(all_sources()), ids=lambda p: str(p.relative_to(REPO)))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(REPO)} has {lines} lines: split it by concern"


def test_the_mock_exchange_imports_nothing_of_the_oms():
    for path in (REPO / "exchange").rglob("*.py"):
        imported = {layer_of(name) for name in imports_of(path)} - {None}
        assert not imported, f"{path.relative_to(REPO)} imports {imported}"
