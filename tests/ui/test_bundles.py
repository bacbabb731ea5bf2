"""The committed front-end bundles: one per entry, up to date, offline and safe (no browser)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WIDGETS_JS = REPO / "widgets_js"
# (source folder of entries, folder of their committed bundles); as in widgets_js/build.mjs
TARGETS = [
    (WIDGETS_JS / "src", REPO / "workbench" / "static"),
    (REPO / "tests" / "ui" / "widget_src", REPO / "tests" / "ui" / "static"),
    (WIDGETS_JS / "embed", REPO / "workbench" / "static" / "embed"),
]
EMBED = REPO / "workbench" / "static" / "embed" / "embed.js"
STYLESHEET = REPO / "workbench" / "static" / "workbench.css"
# an entry's suffix -> its bundle's; as OUTPUTS in widgets_js/build.mjs
OUTPUTS = {".ts": ".js", ".css": ".css"}


def _entries(src: Path) -> list[str]:
    """The names of the bundles that the entries in ``src`` build to."""
    return sorted(
        p.stem + OUTPUTS[p.suffix]
        for p in src.iterdir()
        if p.suffix in OUTPUTS and not p.name.endswith(".d.ts")
    )


def _bundles() -> list[Path]:
    """The widget bundles (the embed renderer carries third-party code; it has its own test)."""
    return sorted(p for _, out in TARGETS for p in out.glob("*.js") if p != EMBED)


def test_every_entry_has_a_bundle_and_every_bundle_an_entry():
    for src, out in TARGETS:
        entries = _entries(src)
        bundles = sorted(p.name for p in out.iterdir() if p.suffix in OUTPUTS.values())
        missing = sorted(set(entries) - set(bundles))
        orphans = sorted(set(bundles) - set(entries))
        assert not missing, f"no bundle in {out} for {missing}: run `cd widgets_js && npm run build`"
        assert not orphans, f"bundles in {out} without a source in {src}: {orphans}; run the build"


def test_bundles_are_up_to_date():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node/npm are not installed, so the bundles cannot be rebuilt for comparison")
    if not (WIDGETS_JS / "node_modules" / "esbuild").is_dir():
        pytest.fail(
            "widgets_js/node_modules is missing: run `cd widgets_js && npm ci` "
            "(`./run setup` does it when npm is available)"
        )
    # Builds every entry in memory and compares the bytes with the committed bundles.
    done = subprocess.run(
        [node, "build.mjs", "--check"], cwd=WIDGETS_JS, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"stale bundles:\n{done.stdout}{done.stderr}"


def _selectors(css: str) -> list[str]:
    """Every selector of the top-level rules of ``css`` (comments and at-rules' bodies apart)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    selectors = []
    depth = 0
    start = 0
    for i, ch in enumerate(css):
        if ch == "{":
            if depth == 0:
                selectors += [s.strip() for s in css[start:i].split(",")]
            depth += 1
        elif ch == "}":
            depth -= 1
            start = i + 1
    assert depth == 0, "unbalanced braces in workbench.css"
    return selectors


def test_one_stylesheet_scoped_under_the_widgets_root_classes():
    """Every rule applies inside a widget's root only, so nothing leaks into JupyterLab."""
    roots = set()
    for entry in (WIDGETS_JS / "src").glob("*.ts"):
        found = re.findall(r'class: "wb-widget (wb-[\w-]+)"', entry.read_text(encoding="utf-8"))
        assert len(found) == 1, (f"{entry.name}: its root element must carry the classes "
                                 f"'wb-widget wb-<panel>', found {found}")
        roots.add(found[0])
        assert not re.search(r"h\(\s*\"style\"|createElement\(\s*\"style\"", entry.read_text(encoding="utf-8")), (
            f"{entry.name} builds a <style>: put its rules in widgets_js/src/styles/ (one stylesheet, set as _css)")
    text = STYLESHEET.read_text(encoding="utf-8")
    assert text.startswith("/* Generated from widgets_js"), f"{STYLESHEET} was not made by widgets_js/build.mjs"
    assert "@import" not in text and "url(" not in text, "the stylesheet must load nothing: the widgets render offline"
    allowed = re.compile(r"\.(wb-widget|" + "|".join(map(re.escape, sorted(roots))) + r")(?![\w-])")
    selectors = _selectors(text)
    assert selectors, "workbench.css has no rules"
    unscoped = [s for s in selectors if not allowed.match(s)]
    assert not unscoped, f"selectors not under a widget's root class ({sorted(roots)} or .wb-widget): {unscoped}"


def test_every_widget_gets_the_one_stylesheet():
    """``_css`` is set once, on WorkbenchWidget, to the built stylesheet; no panel sets its own."""
    import importlib
    import pkgutil

    import traitlets

    import workbench.widgets as widgets
    from workbench.widgets._base import WorkbenchWidget

    for info in pkgutil.iter_modules(widgets.__path__, "workbench.widgets."):
        importlib.import_module(info.name)
    css = vars(WorkbenchWidget)["_css"]
    if isinstance(css, traitlets.TraitType):
        assert css.default_value == STYLESHEET.read_text(encoding="utf-8")
    else:
        assert Path(str(getattr(css, "_path", ""))).resolve() == STYLESHEET.resolve(), (
            f"WorkbenchWidget._css must be STATIC / 'workbench.css', got {str(css)[:80]!r}")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    def own_css(cls) -> bool:
        css = vars(cls).get("_css")
        if isinstance(css, traitlets.TraitType):
            # an instance's class made by anywidget (traitlets' add_traits): _css is then a
            # trait whose default is the stylesheet's contents
            return css.default_value != stylesheet
        return css is not None

    stylesheet = STYLESHEET.read_text(encoding="utf-8")
    own = sorted({f"{c.__module__}.{c.__name__}" for c in subclasses(WorkbenchWidget)
                  if c.__module__.startswith("workbench.") and own_css(c)})
    assert not own, f"{own} set their own _css: put the rules in widgets_js/src/styles/ instead"


# Any import left in a bundle would be fetched at run time (esbuild inlines the rest).
_IMPORT = re.compile(r"""(^|[;\s])import\s*(\(|["'{*]|[A-Za-z_$][\w$]*\s*(,|from))""", re.M)
_REMOTE = re.compile(r"""(from|import)\s*\(?\s*["']https?://""")
_HTML_SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\.srcdoc\s*="
                         r"|createContextualFragment")


@pytest.mark.parametrize("bundle", _bundles(), ids=lambda p: str(p.relative_to(REPO)))
def test_bundle_is_self_contained_and_never_parses_html(bundle):
    text = bundle.read_text(encoding="utf-8")
    assert text.startswith("// Generated from widgets_js"), f"{bundle} was not made by widgets_js/build.mjs"
    assert not _REMOTE.search(text), f"{bundle} imports from a URL: the widgets must render offline"
    match = _IMPORT.search(text)
    assert match is None, f"{bundle} still imports something at run time: {text[match.start():match.start() + 80]!r}"
    sinks = sorted(set(_HTML_SINKS.findall(text)))
    assert not sinks, f"{bundle} uses {sinks}: model text is untrusted, render it with textContent"


def test_embed_renderer_is_one_offline_script():
    """The renderer of exported pages: a classic script that imports only the blob of a widget's ``_esm``."""
    text = EMBED.read_text(encoding="utf-8")
    assert text.startswith("// Generated from widgets_js"), f"{EMBED} was not made by widgets_js/build.mjs"
    assert not _REMOTE.search(text), f"{EMBED} imports from a URL: exported pages must render offline"
    statics = re.findall(r"""(?:^|[;\s])import\s*(?:["'{*]|[A-Za-z_$][\w$]*\s*(?:,|from))""", text, re.M)
    assert not statics, f"{EMBED} is a classic script, so it cannot have import statements: {statics[:3]}"
    dynamic = re.findall(r"(?<![\w$.])import\(([^)]*)\)", text)
    assert dynamic and all(re.fullmatch(r"[A-Za-z_$][\w$]*", arg) for arg in dynamic), (
        f"{EMBED} has an import() of a literal module, which would be fetched: {dynamic}")
    assert "[anywidget] Runtime not found" in text, "anywidget's front-end is missing from the embed renderer"
    assert "application/vnd.jupyter.widget-state+json" in text


def test_typescript_typechecks():
    node = shutil.which("node")
    tsc = WIDGETS_JS / "node_modules" / "typescript" / "bin" / "tsc"
    if node is None:
        pytest.skip("node is not installed, so the TypeScript sources cannot be checked")
    if not tsc.exists():
        pytest.fail("widgets_js/node_modules is missing: run `cd widgets_js && npm ci`")
    done = subprocess.run(
        [node, str(tsc), "--noEmit", "-p", "."], cwd=WIDGETS_JS, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"`npm run typecheck` fails:\n{done.stdout}{done.stderr}"


def test_every_widget_loads_its_esm_from_a_built_bundle():
    """anywidget takes an ``_esm`` path that does not exist for inline code: catch that here."""
    import importlib
    import pkgutil

    import anywidget
    import traitlets

    import workbench.widgets as widgets

    for info in pkgutil.iter_modules(widgets.__path__, "workbench.widgets."):
        importlib.import_module(info.name)
    static = (REPO / "workbench" / "static").resolve()

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(anywidget.AnyWidget):
        if not cls.__module__.startswith("workbench.") or "_esm" not in vars(cls):
            continue
        esm = vars(cls)["_esm"]
        if isinstance(esm, traitlets.TraitType):
            # once a widget has been instantiated, anywidget has turned the class's
            # _esm into a trait whose default is the file's contents
            bundles = {p.read_text(): p for p in static.glob("*.js")}
            assert esm.default_value in bundles, (
                f"{cls.__module__}.{cls.__name__}._esm is not the contents of a bundle in workbench/static"
            )
            continue
        path = Path(str(getattr(esm, "_path", "")))
        assert path.is_file() and path.resolve().parent == static, (
            f"{cls.__module__}.{cls.__name__}._esm must be STATIC / '<widget>.js' "
            f"(an existing bundle in workbench/static), got {str(esm)[:80]!r}"
        )
