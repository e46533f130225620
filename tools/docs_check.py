"""Check the docs site short of quarto: run every page, process it as `nbdev-docs` does, render it to HTML, check it, screenshot it.

    python tools/docs_check.py                  # everything; exit 1 on any failed check
    python tools/docs_check.py --only '2*'      # some pages (the sidebar and file checks still cover all)
    python tools/docs_check.py --no-exec        # reuse the executed pages of the last run (to work on rendering)
    python tools/docs_check.py --exec-only      # only write the executed pages (then `nbdev-docs --path _docs_check/nbs`)

Steps, per page (in parallel): execute the notebook from `nbs/` (cwd `nbs/`, the cells `nbdev-test --flags slow` runs:
every `tst_flags` flag but `slow` skipped; `IN_TEST=1`) into `_docs_check/nbs/` with its outputs, counting the matplotlib figures each cell
draws; process it with nbdev's own processor (`nbdev.serve_drv.main` with `FilterDefaults`, what `proc_nbs` maps over
the notebooks) into `_docs_check/proc/`; render it with nbconvert into `_docs_check/site/` (quarto's cell options
`include`/`echo`/`output: false` applied, headings given pandoc's ids, `.ipynb` links pointed at the pages).
Checks: the sidebar lists every page and only pages; `nbdev-docs` would leave `nbdev.yml` and `sidebar.yml` as they are;
every page executes and its processing succeeds; no page shows an error output or a traceback; every internal link,
every `show_doc` link and every `[source]` link resolves (page, anchor, file and line); every public function and class
of the package has its `show_doc` entry where the index says; every figure a page draws is in the page as an image.
Screenshots of the home page, a tutorial with plots and the CLI reference go to `_docs_check/` (skipped, with a
message, where headless Chromium is absent or cannot start).
"""
from __future__ import annotations
import argparse, contextlib, html, io, json, os, re, shutil, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT/"_docs_check"
SCREENS = {"home": "index.html", "tutorial": "tutorial_validate.html", "cli": "cli_reference.html"}  # name -> page
PLOT_PAGE_ANCHOR = "dc-first-figure"  # the tutorial's screenshot scrolls to its first figure

# ---------------------------------------------------------------- configuration and the list of pages

def nbdev_cfg():
    from nbdev.config import get_config
    return get_config(ROOT)

def doc_files(nbs:Path)->list:
    "The files `nbdev-docs` renders, relative to `nbs` (what `nbdev_sidebar` would list)."
    from nbdev.quarto import _nbglob_docs
    return sorted(str(Path(f).relative_to(nbs)) for f in _nbglob_docs(str(nbs)))

def sidebar_entries(contents, section="")->list:
    "(section, file) for every page the sidebar names, in order."
    out = []
    for c in contents or []:
        if isinstance(c, str): out.append((section, c))
        elif isinstance(c, dict):
            if "href" in c: out.append((c.get("section", section), c["href"]))
            if "contents" in c: out += sidebar_entries(c["contents"], c.get("section", section))
            if "file" in c: out.append((section, c["file"]))
    return out

def check_site_files(cfg, errors:list)->dict:
    "Sidebar against the files; the yml files nbdev-docs would rewrite. Returns {file: section}."
    import yaml
    nbs = cfg.nbs_path
    sb = nbs/"sidebar.yml"
    if not sb.exists():
        errors.append("nbs/sidebar.yml is missing"); return {}
    if not str(cfg.get("custom_sidebar", False)).lower() in ("true", "1", "yes"):
        errors.append("pyproject.toml [tool.nbdev] custom_sidebar is not true: nbdev-docs would overwrite nbs/sidebar.yml")
    entries = sidebar_entries(((yaml.safe_load(sb.read_text()) or {}).get("website") or {}).get("sidebar", {}).get("contents"))
    files = doc_files(nbs)
    named = [f for _, f in entries]
    for f in sorted({f for f in named if named.count(f) > 1}): errors.append(f"sidebar: {f} is listed more than once")
    for f in named:
        if f not in files: errors.append(f"sidebar: {f} is not a page (no such notebook in nbs/)")
    for f in files:
        if f not in named: errors.append(f"sidebar: the page {f} is not in nbs/sidebar.yml")
    q = yaml.safe_load((nbs/"_quarto.yml").read_text())
    if "sidebar.yml" not in (q.get("metadata-files") or []): errors.append("nbs/_quarto.yml does not list sidebar.yml in metadata-files")
    from nbdev.quarto import _nbdev_yml
    vals = {k: cfg[k] for k in ["title", "description", "branch", "git_url", "doc_host", "doc_baseurl"]}
    vals["doc_path"] = cfg.doc_path.name
    if (nbs/"nbdev.yml").read_text() != _nbdev_yml.format(**vals):
        errors.append("nbs/nbdev.yml differs from what nbdev-docs writes from pyproject.toml (it would be rewritten)")
    return {f: s for s, f in entries}

# ---------------------------------------------------------------- execute and process one page (in a worker)

_FIGS = [0]

def _count_figures():
    "Count every matplotlib Figure created in this process."
    import matplotlib.figure as mf
    if getattr(mf.Figure.__init__, "_dc", False): return
    orig = mf.Figure.__init__
    def init(self, *a, **k):
        _FIGS[0] += 1
        orig(self, *a, **k)
    init._dc = True
    mf.Figure.__init__ = init

def _error_text(o)->str|None:
    "The error an output shows, if any."
    if o.get("output_type") == "error": return f"{o.get('ename')}: {o.get('evalue')}"
    txt = o.get("text") if o.get("output_type") == "stream" else (o.get("data") or {}).get("text/plain")
    if isinstance(txt, list): txt = "".join(txt)
    if txt and "Traceback (most recent call last)" in txt: return txt.strip().splitlines()[-1][:300]
    return None

_ENV = {}

def _reset():
    "What one page may leave behind in a worker that runs several: the environment, the working directory, open figures."
    if not _ENV: _ENV.update(os.environ)
    else: os.environ.clear(); os.environ.update(_ENV)
    os.chdir(ROOT)
    if "matplotlib.pyplot" in sys.modules: sys.modules["matplotlib.pyplot"].close("all")
    if "transformers.utils.logging" in sys.modules: sys.modules["transformers.utils.logging"].enable_progress_bar()  # a page may turn them off

def build_page(name:str, execute:bool=True, skip_flags=(), force_flags=(), timeout=None)->dict:
    "Execute nbs/NAME into _docs_check/nbs, then process it into _docs_check/proc; returns what happened."
    _reset()
    os.environ["IN_TEST"] = "1"
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
    from fastcore.nbio import write_nb
    from fastcore.xtras import working_directory
    src, exe, proc = ROOT/"nbs"/name, OUT/"nbs"/name, OUT/"proc"/name
    figs = (OUT/"figures"/name).with_suffix(".json")  # figures drawn per cell (kept out of nbs/, which is the site's source)
    r = {"name": name, "exec_error": None, "proc_error": None, "figures": {}, "exec_s": 0.0, "proc_s": 0.0, "errors_shown": []}
    if execute:
        from execnb.shell import CaptureShell
        from nbdev.process import NBProcessor
        from nbdev.test import _skip_cell
        _count_figures()
        t0 = time.time()
        nb = NBProcessor(src, rm_directives=False, process=True).nb
        skip = _skip_cell(nb, list(skip_flags), list(force_flags))
        k = CaptureShell(src, profile=bool(nbdev_cfg().get("exec_profile", False)))
        before = {}
        def pre(cell):
            s = skip(cell)
            if not s: before[cell.id] = _FIGS[0]
            return s
        def post(cell): r["figures"][cell.id] = _FIGS[0] - before.pop(cell.id, _FIGS[0])
        try:
            with working_directory(src.parent): k.run_all(nb, exc_stop=True, preproc=pre, postproc=post, cell_timeout=timeout)
        except BaseException as e:
            bad = next((i for i, c in enumerate(nb.cells) if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
            r["exec_error"] = f"cell {bad}: {type(e).__name__}: {str(e).strip().splitlines()[-1][:300] if str(e).strip() else ''}"
        r["exec_s"] = round(time.time() - t0, 1)
        exe.parent.mkdir(parents=True, exist_ok=True)
        write_nb(nb, exe)
        figs.parent.mkdir(parents=True, exist_ok=True)
        figs.write_text(json.dumps(r["figures"]))
    elif exe.exists(): r["figures"] = json.loads(figs.read_text()) if figs.exists() else {}
    else:
        r["exec_error"] = "no executed copy (run without --no-exec first)"; return r
    # processing exactly as proc_nbs does it: nbdev.serve_drv.main((src, dst, FilterDefaults)), from the project root
    from nbdev.processors import FilterDefaults
    import nbdev.serve_drv, warnings
    t0 = time.time()
    proc.parent.mkdir(parents=True, exist_ok=True)
    with working_directory(ROOT), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with contextlib.redirect_stdout(io.StringIO()): nbdev.serve_drv.main((exe, proc, FilterDefaults))
        except Exception as e:
            r["proc_error"] = str(e).strip()[:600]
            r["proc_cells"] = _failing_doc_cells(exe)
    r["proc_s"] = round(time.time() - t0, 1)
    return r

def _failing_doc_cells(path:Path)->list:
    "Every cell nbdev's doc processing executes (imports, exports, show_doc) that fails there, continuing past failures."
    from execnb.shell import CaptureShell
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval
    nb = NBProcessor(path, rm_directives=False, process=True).nb
    k = CaptureShell()
    k.run_cell("from nbdev.showdoc import show_doc")
    out = []
    for i, c in enumerate(nb.cells):
        try: ev = _do_eval(c)
        except Exception: ev = False
        if not ev: continue
        k.cell(c)
        if k.exc:
            first = next((l for l in c.source.splitlines() if l.strip() and not l.startswith("#|")), "")[:70]
            out.append(f"cell {i} of the notebook, from 0 ({first!r}...): {type(k.exc).__name__}: {str(k.exc)[:200]}"); k.exc = None
    return out

# ---------------------------------------------------------------- render to HTML

_DIRECTIVE = re.compile(r"^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")

def pandoc_id(text:str)->str:
    "The identifier pandoc (so quarto) gives a heading."
    s = re.sub(r"[^\w\s.-]", "", text.strip())
    s = re.sub(r"\s+", "-", s).lower()
    s = re.sub(r"^[^a-z]+", "", s)
    return s or "section"

def _frontmatter(nb)->dict:
    import yaml
    for c in nb.cells:
        if c.cell_type == "raw" and c.source.strip().startswith("---"):
            return yaml.safe_load(c.source.strip().strip("-")) or {}
    return {}

def quarto_view(nb):
    "Apply what quarto does with cell options and front matter, as far as a static render needs."
    import nbformat
    fm = _frontmatter(nb)
    cells = []
    if fm.get("title"):
        md = f"# {fm['title']}\n\n" + (f"<p class='dc-description'>{html.escape(str(fm['description']))}</p>" if fm.get("description") else "")
        cells.append(nbformat.v4.new_markdown_cell(md))
    for c in nb.cells:
        if c.cell_type == "raw" and c.source.strip().startswith("---"): continue
        c.pop("has_sd", None)
        c.metadata.pop("execution", None)
        if c.cell_type == "code":
            lines = c.source.splitlines()
            opts = {}
            while lines and (m := _DIRECTIVE.match(lines[0])): opts[m.group(1)] = m.group(2).lower(); lines.pop(0)
            c.source = "\n".join(lines)
            if opts.get("include") == "false": continue
            tags = set(c.metadata.get("tags", []))
            if opts.get("echo") == "false" or not c.source.strip(): tags.add("dc_remove_input")
            if opts.get("output") == "false": c.outputs = []
            for o in c.get("outputs", []):
                md = (o.get("data") or {}).get("text/markdown")
                if md: o["data"]["text/markdown"] = re.sub(r"\{target=\"_blank\"[^}]*\}", "", md)
            c.metadata["tags"] = sorted(tags)
        cells.append(c)
    nb.cells = cells
    nb.metadata.pop("execution", None)
    return nb, fm

def _heading_ids(body:str)->tuple:
    "Give every heading pandoc's id (duplicates numbered as pandoc does); returns the new html and the set of ids."
    seen, ids = {}, set()
    def sub(m):
        inner = re.sub(r"<a class=\"anchor-link\".*?</a>", "", m.group(3), flags=re.S)
        base = pandoc_id(html.unescape(re.sub(r"<[^>]+>", "", inner)))
        n = seen.get(base, -1) + 1; seen[base] = n
        i = base if n == 0 else f"{base}-{n}"
        ids.add(i)
        return f"<h{m.group(1)} id=\"{i}\"{m.group(2)}>{inner}</h{m.group(1)}>"
    body = re.sub(r"<h([1-6]) id=\"[^\"]*\"([^>]*)>(.*?)</h\1>", sub, body, flags=re.S)
    ids |= set(re.findall(r"\sid=\"([^\"]+)\"", body))
    return body, ids

def render(name:str, pages:dict, sidebar_html:str)->dict:
    "Render _docs_check/proc/NAME to _docs_check/site/<its output-file>; returns the page's facts."
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    nb = nbformat.read(OUT/"proc"/name, as_version=4)
    nb, fm = quarto_view(nb)
    out_file = fm.get("output-file") or Path(name).with_suffix(".html").name
    ex = HTMLExporter(template_name="lab")
    ex.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"dc_remove_input"}), enabled=True)
    body, _ = ex.from_notebook_node(nb)
    body, ids = _heading_ids(body)
    n_img = len(re.findall(r"<img[^>]+src=\"data:image/", body))
    body = re.sub(r"(<img)([^>]+src=\"data:image/)", lambda m: f"{m.group(1)} id=\"{PLOT_PAGE_ANCHOR}\"{m.group(2)}", body, count=1)
    errors, notes = [], []
    for i, c in enumerate(nb.cells):
        for o in c.get("outputs", []):
            if (e := _error_text(o)): errors.append(f"an output shows an error: {e}")
            if o.get("output_type") == "stream" and re.search(r"\d+%\|", "".join(o.get("text", ""))):
                errors.append(f"cell {i} ({c.source.strip().splitlines()[0][:50] if c.source.strip() else ''!r}) shows a progress bar")
    return {"name": name, "file": out_file, "title": fm.get("title", name), "html": body, "ids": ids, "images": n_img,
            "links": re.findall(r"<a\s[^>]*href=\"([^\"]*)\"[^>]*>(.*?)</a>", body, flags=re.S), "errors": errors, "notes": notes}

# ---------------------------------------------------------------- links

def check_links(page:dict, pages:dict, by_src:dict, cfg, rendered:set)->tuple:
    "Broken links of a page: internal pages and anchors, show_doc links, [source] links. Returns (errors, n_checked)."
    site = (cfg.doc_host + cfg.doc_baseurl).rstrip("/") + "/"
    repo_blob = cfg.git_url.rstrip("/") + f"/blob/{cfg.branch}/"
    errors, n = [], 0
    for href, text in page["links"]:
        href = html.unescape(href)
        label = re.sub(r"<[^>]+>", "", text).strip()[:40]
        if href.startswith(repo_blob):  # [source] links of show_doc
            n += 1
            path, _, frag = href[len(repo_blob):].partition("#")
            f = ROOT/path
            if not f.exists(): errors.append(f"source link to a missing file: {href}"); continue
            if (m := re.fullmatch(r"L(\d+)", frag)) and int(m.group(1)) > len(f.read_text().splitlines()):
                errors.append(f"source link past the end of {path}: {href}")
            continue
        if href.startswith(site): href = href[len(site):]
        u = urlsplit(href)
        if u.scheme or href.startswith("//"): continue  # external
        n += 1
        target, frag = u.path, u.fragment
        if not target: target_page = page
        else:
            t = target[:-3] if target.endswith(".html.md") else target
            if t.endswith(".ipynb"):
                key = by_src.get(Path(t).name)
                if key is None: errors.append(f"link [{label}]({href}): no notebook {t} in nbs/"); continue
            elif t.endswith(".html"):
                key = t if t in pages else None
                if key is None: errors.append(f"link [{label}]({href}): no page {t}"); continue
            elif (cfg.nbs_path/t).exists(): continue
            else: errors.append(f"link [{label}]({href}): not a page or a file of the site"); continue
            target_page = pages[key]
        if frag:
            if target_page.get("ids") is None:
                if target_page["name"] in rendered: errors.append(f"link [{label}]({href}): the page was not rendered")
                continue  # not rendered in this run (--only)
            if frag not in target_page["ids"]: errors.append(f"link [{label}]({href}): no anchor #{frag} on {target_page['file']}")
    return errors, n

def check_show_docs(pages:dict, errors:list):
    "Every public function and class of the package has a show_doc entry on the page the doc index points to."
    import importlib, inspect
    from speculators._modidx import d
    for mod, syms in d["syms"].items():
        try: m = importlib.import_module(mod)
        except Exception as e: errors.append(f"show_doc: cannot import {mod}: {e}"); continue
        for name in getattr(m, "__all__", []):
            obj = getattr(m, name, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or getattr(obj, "__module__", mod) != mod: continue
            url = syms.get(f"{mod}.{name}", (None,))[0]
            if not url: errors.append(f"show_doc: {mod}.{name} is public but not in the doc index (_modidx)"); continue
            file, _, anchor = url.partition("#")
            p = pages.get(file)
            if p is None: errors.append(f"show_doc: {mod}.{name} points to {file}, which is not a page"); continue
            if p.get("ids") is not None and anchor not in p["ids"]:
                errors.append(f"show_doc: {mod}.{name} has no entry (#{anchor}) on {file}")

# ---------------------------------------------------------------- site assembly and screenshots

CSS = """<style>
body { margin-left: 270px !important; }
nav.dc-sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 250px; overflow-y: auto; padding: 16px 12px;
  background: #f7f7f9; border-right: 1px solid #ddd; font: 14px/1.4 system-ui, sans-serif; }
nav.dc-sidebar .dc-site { font-weight: 700; font-size: 18px; margin-bottom: 12px; display: block; color: #2780e3; text-decoration: none; }
nav.dc-sidebar .dc-section { font-weight: 600; margin: 14px 0 4px; color: #333; }
nav.dc-sidebar a.dc-page { display: block; padding: 2px 6px; color: #444; text-decoration: none; border-radius: 4px; }
nav.dc-sidebar a.dc-page.dc-current { background: #2780e3; color: white; }
.dc-description { font-size: 1.15em; color: #555; }
.jp-InputPrompt, .jp-OutputPrompt { display: none !important; }  /* quarto shows no prompts */
.jp-RenderedMarkdown pre { background: #f5f5f5; padding: 8px 10px; border-radius: 4px; overflow-x: auto; }
.jp-RenderedMarkdown table { border-collapse: collapse; } .jp-RenderedMarkdown td, .jp-RenderedMarkdown th { border: 1px solid #ddd; padding: 3px 6px; }
</style>"""

def sidebar_nav(sections:list, pages:dict, current:str, title:str)->str:
    out = [f"<nav class='dc-sidebar'><a class='dc-site' href='index.html'>{html.escape(title)}</a>"]
    for sec, files in sections:
        out.append(f"<div class='dc-section'>{html.escape(sec)}</div>")
        for f in files:
            p = pages.get(f)
            if p is None: continue
            cur = " dc-current" if p["file"] == current else ""
            out.append(f"<a class='dc-page{cur}' href='{p['file']}'>{html.escape(str(p['title']))}</a>")
    return "\n".join(out) + "</nav>"

def local_links(body:str, cfg, by_src:dict, pages:dict)->str:
    "Links as the published site has them, made relative so the local copy browses."
    site = (cfg.doc_host + cfg.doc_baseurl).rstrip("/") + "/"
    def sub(m):
        h = html.unescape(m.group(1))
        if h.startswith(site): h = h[len(site):]
        u = urlsplit(h)
        if not u.scheme and u.path.endswith(".ipynb") and Path(u.path).name in by_src:
            h = pages[by_src[Path(u.path).name]]["file"] + (f"#{u.fragment}" if u.fragment else "")
        return f'href="{html.escape(h, quote=True)}"'
    return re.sub(r'href="([^"]*)"', sub, body)

def find_chromium()->str|None:
    for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if (p := shutil.which(n)): return p
    return None

# headless Chromium paints a screenshot from the top of the page (scrolling to an anchor gives a blank image), so to show a
# figure the page's copy for the screenshot hides the cells before it, keeping the few that introduce it
_TO_FIGURE = """<script>window.addEventListener("load", () => {
  const cell = document.getElementById("%s")?.closest(".jp-Cell"); if (!cell) return;
  const before = []; for (let e = cell.previousElementSibling; e; e = e.previousElementSibling) before.push(e);
  before.slice(%d).forEach(e => e.style.display = "none");
});</script>"""

def screenshot(exe:str, page:Path, png:Path, to_figure:bool=False, height:int=1400)->str|None:
    "Screenshot `page` with headless Chromium (from its first figure when `to_figure`); returns an error message or None."
    png.unlink(missing_ok=True)
    if to_figure:
        shot = page.with_name(f".shot-{page.name}")
        shot.write_text(page.read_text().replace("</body>", _TO_FIGURE % (PLOT_PAGE_ANCHOR, 3) + "</body>", 1))
        page = shot
    cmd = [exe, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
           "--virtual-time-budget=3000", f"--window-size=1280,{height}", f"--screenshot={png}", page.resolve().as_uri()]
    if hasattr(os, "geteuid") and os.geteuid() == 0: cmd.insert(1, "--no-sandbox")
    try: r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    except Exception as e: return f"{type(e).__name__}: {e}"
    finally:
        if to_figure: page.unlink(missing_ok=True)
    if not png.exists() or png.stat().st_size < 2000:
        return f"exit {r.returncode}, no screenshot: {(r.stderr.strip().splitlines() or [''])[-1][:200]}"
    try:
        from PIL import Image
        lo, hi = Image.open(png).convert("L").getextrema()
        if lo == hi: return "the screenshot is blank"
    except ImportError: pass
    return None

# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=None, help="glob of the notebooks to build and check (default: all)")
    ap.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1), help="pages built at once")
    ap.add_argument("--flags", default="slow", help="test flags whose cells run (default: slow; the other tst_flags are skipped: cuda needs a GPU, vllm cells are left to nbdev-test)")
    ap.add_argument("--no-exec", dest="execute", action="store_false", help="reuse the executed pages of the last run")
    ap.add_argument("--exec-only", action="store_true", help="only execute the pages into _docs_check/nbs (for nbdev-docs --path)")
    ap.add_argument("--no-screens", dest="screens", action="store_false", help="skip the screenshots")
    ap.add_argument("--fresh", action="store_true", help="run each page in a process of its own (slower: imports repeated)")
    a = ap.parse_args(argv)
    t_start = time.time()
    os.chdir(ROOT)
    cfg = nbdev_cfg()
    nbs = cfg.nbs_path
    errors, warnings_ = [], []
    section_of = check_site_files(cfg, errors)
    files = doc_files(nbs)
    names = [f for f in files if f.endswith(".ipynb") and (a.only is None or Path(f).match(a.only))]
    if not names: print(f"docs_check: no notebook matches {a.only!r}"); return 1
    skip = [f for f in str(cfg.tst_flags).split() if f not in a.flags.split()]
    (OUT/"nbs").mkdir(parents=True, exist_ok=True)
    for f in (OUT/"nbs").glob("*.ipynb"):  # pages since removed from nbs/ must not reach a site built from here
        if f.name not in files: f.unlink()
    for f in nbs.iterdir():  # the site's other files, so that `nbdev-docs --path _docs_check/nbs` finds them
        if f.is_file() and f.suffix != ".ipynb": shutil.copy2(f, OUT/"nbs"/f.name)

    print(f"== executing and processing {len(names)} page(s) with {a.workers} worker(s) (skipping cells flagged {' '.join(skip) or 'nothing'})", flush=True)
    results = {}
    if a.workers > 1 and len(names) > 1:
        # workers run several pages, as nbdev-test's do (reset between pages: environment, cwd, figures); --fresh: a process per page
        with ProcessPoolExecutor(a.workers, mp_context=get_context("spawn"), max_tasks_per_child=1 if a.fresh else None) as pool:
            futs = {n: pool.submit(build_page, n, a.execute, skip, a.flags.split(), cfg.cell_timeout or None) for n in names}
            for n, fu in futs.items():
                try: results[n] = fu.result()
                except Exception as e: results[n] = {"name": n, "exec_error": f"worker died: {e}", "proc_error": None, "figures": {}, "exec_s": 0, "proc_s": 0}
                _progress(results[n])
    else:
        for n in names: results[n] = build_page(n, a.execute, skip, a.flags.split(), cfg.cell_timeout or None); _progress(results[n])
    for n, r in results.items():
        if r["exec_error"]: errors.append(f"{n}: execution failed at {r['exec_error']}")
        if r["proc_error"]:
            cells = r.get("proc_cells") or []
            errors.append(f"{n}: nbdev-docs would fail on this page: its processing runs every cell that imports (and the exports and "
                          f"show_doc cells) in a fresh kernel, and {'these fail there' if cells else 'it fails'} "
                          "(keep imports in cells of their own)" + ("" if cells else f": {r['proc_error'].splitlines()[-1]}"))
            for c in cells: errors.append(f"{n}:   {c}")
    if a.exec_only:
        print(f"executed pages in {OUT/'nbs'} ({time.time() - t_start:.0f} s); build the site with: nbdev-docs --path {OUT/'nbs'}")
        return 1 if any(r["exec_error"] for r in results.values()) else 0

    print("== rendering", flush=True)
    pages = {}  # output file -> facts (rendered or not)
    by_src = {}
    for f in files:
        if not f.endswith(".ipynb"): continue
        from nbdev.quarto import nbpath2html
        out_file = nbpath2html(Path(f)).name
        pages[out_file] = {"name": f, "file": out_file, "title": f, "ids": None}
        by_src[Path(f).name] = out_file
    for n in names:
        if results[n]["proc_error"] or not (OUT/"proc"/n).exists(): continue
        try: p = render(n, pages, "")
        except Exception as e: errors.append(f"{n}: rendering failed: {type(e).__name__}: {e}"); continue
        pages.pop(by_src[n], None); by_src[n] = p["file"]; pages[p["file"]] = p
    for f in files:  # titles of the pages not rendered in this run, for the sidebar
        pf = pages[by_src[f]]
        if pf.get("html") is None:
            try:
                import nbformat
                src = nbformat.read(nbs/f, as_version=4)
                h1 = next((l[2:].strip() for c in src.cells if c.cell_type == "markdown" for l in c.source.splitlines() if l.startswith("# ")), f)
                pf["title"] = h1
            except Exception: pass

    print("== checking", flush=True)
    rendered = {n for n in names if by_src.get(n) in pages and pages[by_src[n]].get("html") is not None}
    n_links = 0
    for n in names:
        p = pages.get(by_src[n])
        if not p or p.get("html") is None: continue
        for e in p["errors"]: errors.append(f"{n}: {e}")
        for w in p["notes"]: warnings_.append(f"{n}: {w}")
        le, k = check_links(p, pages, by_src, cfg, rendered)
        n_links += k
        errors += [f"{n}: {e}" for e in le]
        drawn = sum(v for cid, v in results[n]["figures"].items() if cid in _shown_cells(n))
        p["drawn"] = drawn
        if p["images"] < drawn:
            errors.append(f"{n}: draws {drawn} figure(s), the page shows {p['images']} image(s)")
    if a.only is None: check_show_docs(pages, errors)

    print("== writing the site to _docs_check/site", flush=True)
    import yaml
    site = OUT/"site"
    shutil.rmtree(site, ignore_errors=True); site.mkdir(parents=True)
    sb = (yaml.safe_load((nbs/"sidebar.yml").read_text()) or {}) if (nbs/"sidebar.yml").exists() else {}
    sections = []
    for s, f in sidebar_entries(((sb.get("website") or {}).get("sidebar") or {}).get("contents")):
        if not sections or sections[-1][0] != s: sections.append((s, []))
        sections[-1][1].append(by_src.get(f, f))
    for p in pages.values():
        if p.get("html") is None: continue
        body = local_links(p["html"], cfg, by_src, pages)
        body = body.replace("</head>", CSS + "\n</head>", 1)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + sidebar_nav(sections, pages, p["file"], str(cfg.title)), body, count=1)
        (site/p["file"]).write_text(body)

    shots = []
    if a.screens:
        exe = find_chromium()
        if exe is None: print("== screenshots skipped: no Chromium found (Debian: apt-get install chromium)")
        else:
            print(f"== screenshots with {exe}", flush=True)
            for key, f in SCREENS.items():
                if not (site/f).exists(): warnings_.append(f"screenshot {key}: {f} was not rendered in this run"); continue
                err = screenshot(exe, site/f, OUT/f"{key}.png", to_figure=key == "tutorial" and bool(pages[f].get("images")))
                if err: warnings_.append(f"screenshot {key} ({f}) failed: {err}")
                else: shots.append(OUT/f"{key}.png")

    print("\n== summary")
    print(f"{'page':28} {'section':16} {'exec s':>7} {'proc s':>7} {'figures':>7} {'images':>6}")
    for n in names:
        r, p = results[n], pages.get(by_src.get(n), {})
        print(f"{n:28} {section_of.get(n, '(none)')[:16]:16} {r['exec_s']:7} {r['proc_s']:7} {p.get('drawn', '-'):>7} {p.get('images', '-'):>6}")
    print(f"{len(rendered)} page(s) rendered to {site}, {n_links} internal/source/show_doc link(s) checked; screenshots: "
          + (", ".join(str(s.relative_to(ROOT)) for s in shots) or "none"))
    for w in warnings_: print(f"warning: {w}")
    for e in errors: print(f"FAIL: {e}")
    print(f"docs_check: {len(errors)} failure(s) in {time.time() - t_start:.0f} s")
    return 1 if errors else 0

def _progress(r):
    st = "ok" if not (r["exec_error"] or r["proc_error"]) else "FAIL"
    print(f"  {r['name']:28} {st:4} executed in {r['exec_s']} s, processed in {r['proc_s']} s", flush=True)

_SHOWN = {}
def _shown_cells(name:str)->set:
    "Ids of the code cells of a processed page that a reader sees with their outputs."
    if name not in _SHOWN:
        import nbformat
        nb = nbformat.read(OUT/"proc"/name, as_version=4)
        nb, _ = quarto_view(nb)
        _SHOWN[name] = {c.get("id") for c in nb.cells if c.cell_type == "code"}
    return _SHOWN[name]

if __name__ == "__main__":
    # run from the module `docs_check`, not `__main__`: workers unpickle `build_page` by module name, and IPython (which runs
    # the notebooks in the workers) replaces `sys.modules["__main__"]`
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import docs_check
    sys.exit(docs_check.main())
