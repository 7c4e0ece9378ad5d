"""The layers of DESIGN.md §1, as built: higher may import lower, never the
reverse. ``pages``/``admin``/``developers`` → ``oidc`` → ``grants`` →
``flows`` → ``services`` → ``models`` → ``extensions``/``settings``; the pages
reach ``oidc`` only through the interaction seam; the journeys know no HTTP."""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "idp"
LEVELS = {"pages": 6, "admin": 6, "developers": 6, "oidc": 5, "grants": 4, "flows": 3, "services": 2,
          "models": 1, "extensions": 0, "settings": 0}
TOP = 6
#: Plain helpers every layer may use (vocabulary and value types, no I/O).
SHARED = {"idp.errors", "idp.phones", "idp.permissions"}
#: The web forms' base class: for the layers that render forms.
WEB_ONLY = {"idp.forms": {"pages", "admin", "developers", "oidc"}}


def modules(source=SOURCE):
    for path in sorted(source.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(source.parent).with_suffix("").parts).removesuffix(".__init__")
        yield name, path


def imports_of(path):
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "idp":
            for alias in node.names:
                yield f"idp.{alias.name}", node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "idp" and parts[1] in LEVELS else None


def violations(source=SOURCE):
    found = []
    for name, path in modules(source):
        own = layer(name)
        if own is None:
            continue  # the application's top (create_app, CLI, registration helpers): may use anything
        for imported, line in imports_of(path):
            where = f"{name}:{line} imports {imported}"
            target = layer(imported)
            if imported.startswith("idp") and target is None:
                # The top adapters may use the application's own helpers (registration, CLI support).
                allowed = (imported in SHARED or own in WEB_ONLY.get(imported, ())
                           or LEVELS[own] == TOP)
                if not allowed:
                    found.append(where + " (not a layer below)")
            elif target is not None and target != own and LEVELS[target] >= LEVELS[own]:
                found.append(where)
            if own == "pages" and target == "oidc" and imported != "idp.oidc.interactions":
                found.append(where + " (pages reach oidc only through the interaction seam)")
            if own == "extensions" and imported.startswith("idp"):
                found.append(where + " (extensions imports third-party code only)")
    return found


def test_no_module_imports_a_layer_above_it():
    assert violations() == []


@pytest.mark.parametrize("name,path", [(n, p) for n, p in modules() if layer(n) == "flows"],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_the_journeys_know_no_http_pages_or_oauth(name, path):
    """One journey class serves the pages, the first-party grants and the
    challenge endpoint: no Flask request, no Authlib."""
    for imported, line in imports_of(path):
        assert not (imported == "flask" or imported.startswith(("flask.", "authlib", "werkzeug"))), (
            f"{name}:{line} imports {imported}")


def test_the_checker_sees_a_violation(tmp_path):
    flows, pages = tmp_path / "idp" / "flows", tmp_path / "idp" / "pages"
    flows.mkdir(parents=True)
    pages.mkdir()
    (flows / "leak.py").write_text("from idp.oidc.interactions import complete_login\n")
    (pages / "shortcut.py").write_text("from idp.oidc.authorize import decide\n")
    assert violations(tmp_path / "idp") == [
        "idp.flows.leak:1 imports idp.oidc.interactions",
        "idp.pages.shortcut:1 imports idp.oidc.authorize (pages reach oidc only through the interaction seam)"]
