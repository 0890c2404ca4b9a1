"""The layers hold: the tracer answers, renderers only draw. Checked on the source, module by module."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "convgraph"
SHARED = {"style", "layout", "numbers", "words", "files"}  # renderers/ modules every sub-package may use
SUBPACKAGES = {"diagrams", "animations", "steppers"}


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


def name_of(path):
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(path):
    """Absolute names of the convgraph modules ``path`` imports (relative imports resolved)."""
    package = name_of(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = set()
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            if not mod.startswith("convgraph"):
                continue
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from . import style` imports a module
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("convgraph")}
    return out


def renderer_modules():
    return [p for p in modules() if "renderers" in p.parts]


@pytest.mark.parametrize("path", renderer_modules(), ids=name_of)
def test_renderers_never_touch_networkx_internals_or_write_onto_the_trace(path):
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"_node", "_pred", "_succ", "_adj"}, f"line {node.lineno}: graph.{node.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in {"backward", "steps", "step_list"}, (
                f"line {node.lineno}: {node.func.attr}() writes onto the trace; ask trace.walk() instead")


@pytest.mark.parametrize("path", [p for p in modules() if "tracer" not in p.parts], ids=name_of)
def test_no_module_reaches_into_another_modules_private_names(path):
    """Outside the tracer's own package, a private name is used only by the module that defines it."""
    t = tree(path)
    module_aliases = set()
    for node in ast.walk(t):
        if isinstance(node, ast.ImportFrom):
            for a in node.names:
                assert not (a.name.startswith("_") and not a.name.startswith("__")), (
                    f"line {node.lineno}: imports private {a.name}")
                module_aliases.add(a.asname or a.name)
        elif isinstance(node, ast.Import):
            module_aliases |= {(a.asname or a.name).split(".")[0] for a in node.names}
    for node in ast.walk(t):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)):
            owner = node.value.id
            assert owner in {"self", "cls"} or owner not in module_aliases, (
                f"line {node.lineno}: {owner}.{node.attr} is private to {owner}")
            assert owner in {"self", "cls"} or "renderers" not in path.parts, (
                f"line {node.lineno}: a renderer reads {owner}.{node.attr}")


@pytest.mark.parametrize("path", modules(), ids=name_of)
def test_imports_point_one_way(path):
    name = name_of(path)
    deps = {d for d in imported(path) if d != "convgraph"}
    if name.startswith("convgraph.tracer"):
        assert all(d.startswith("convgraph.tracer") for d in deps), deps  # the tracer needs nothing else
    elif name == "convgraph.lessons":
        assert all(d.startswith("convgraph.tracer") for d in deps), deps
    elif name.startswith("convgraph.renderers."):
        parts = name.split(".")
        own = parts[2] if len(parts) > 3 or parts[2] in SUBPACKAGES else None
        for d in deps:
            dparts = d.split(".")
            if d.startswith(("convgraph.tracer", "convgraph.lessons")) or d == "convgraph.renderers":
                continue
            assert dparts[:2] == ["convgraph", "renderers"], f"{name} imports {d}"
            assert dparts[2] in SHARED or dparts[2] == own, f"{name} imports {d}: a sibling, not a shared module"
        if own is None:  # a shared module imports only other shared modules
            assert all(d.split(".")[2] in SHARED for d in deps if d.startswith("convgraph.renderers.")), deps


@pytest.mark.parametrize("path", modules(), ids=name_of)
def test_functions_stay_short(path):
    """About 60 lines of code at most, docstring aside: longer ones are split into named phases."""
    for node in ast.walk(tree(path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            start = body[0].lineno
            if isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
                start = body[1].lineno if len(body) > 1 else body[0].end_lineno
            assert node.end_lineno - start + 1 <= 60, f"{node.name} is {node.end_lineno - start + 1} lines"
