"Write README.md from nbs/index.ipynb: nbdev's processing (directives, hidden cells), then nbconvert's Markdown exporter."
import re, yaml
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter
from nbdev.serve import proc_nbs

def main():
    proc_nbs(file_glob="index.ipynb", n_workers=0)
    nb = nbformat.read("_proc/index.ipynb", as_version=4)
    nb.metadata.pop("execution", None)
    for c in nb.cells: c.pop("has_sd", None)
    md, _ = MarkdownExporter().from_notebook_node(nb)
    fm = re.match(r"\A\s*---\n(.*?)\n---\n", md, flags=re.S)  # quarto front matter: not for GitHub
    if fm:
        meta = yaml.safe_load(fm.group(1))
        md = f"# {meta['title']}\n\n> {meta['description']}\n" + md[fm.end():]
    md = re.sub(r"\]\((?!https?://)([\w.-]+\.ipynb)\)", r"](nbs/\1)", md)  # on GitHub the notebooks are under nbs/
    Path("README.md").write_text("<!-- generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file -->\n\n" + md.strip() + "\n")
    print("wrote README.md")

if __name__ == "__main__": main()
