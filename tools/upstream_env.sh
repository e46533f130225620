#!/usr/bin/env bash
# Make a separate virtual environment in which the upstream `speculators` package (PyPI, 0.9.0: the producer of
# the EAGLE 3.1 flags norm_before_fc / fc_norm / norm_output) runs on CPU, as a producer fixture and judge:
#
#     bash upstream_env.sh VENV_DIR
#     VENV_DIR/bin/python -I upstream_fixture.py OUT_DIR --variant plain
#
# Always -I (or at least never from this repository's root with `python -c`): our own package is also called `speculators`,
# and a cwd or PYTHONPATH entry holding it shadows the upstream one (upstream_fixture.py refuses to run then).
#
# Same pattern as tools/vllm_env.sh:
# - torch: the CPU build. `torch==2.13.0` resolves to the local CPU wheel ; upstream
#   declares torch>=2.9.0,<=2.14.1. Installed first, so pip never looks at the CUDA build.
# - speculators==0.9.0 with --no-deps (it declares torchaudio, torchvision, datasets, mooncake extras, ...),
#   then only what `import speculators` and its EAGLE-3 build/save/forward/from_pretrained need, found by trial
#   (import, ModuleNotFoundError, add), each pinned and installed with --no-deps. Nothing is stubbed: the
#   package's __init__ imports speculators.train.data, hence openai, datasets (pyarrow, pandas, dill,
#   multiprocess, xxhash) and hs_connectors at import time. loguru is needed by from_pretrained
#   (speculators.utils.loading) and by its converter.
# - transformers==5.19.0: upstream declares transformers>=5.0.0,<=5.19.0 (the project's vLLM venv has 5.20.2).
# - fsspec==2026.7.0: datasets 5.1.0 declares fsspec<=2026.7.0 (torch's install brings a newer one; replaced).
# Idempotent: does nothing when VENV_DIR already imports all of it at these versions.
set -euo pipefail
VENV=${1:?usage: upstream_env.sh VENV_DIR}
SPEC_VERSION=0.9.0
TORCH_VERSION=2.13.0
PKGS=(
  # torch's own requirements, pinned to what its install brings (fsspec lowered for datasets)
  filelock==4.3.2 fsspec==2026.7.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1 sympy==1.14.0
  typing_extensions==4.16.0 setuptools==84.2.1
  # transformers (speculators declares >=5.0.0,<=5.19.0) and what it imports
  transformers==5.19.0 huggingface_hub==2.4.0 tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6
  packaging==26.3 regex==2026.11.15 tqdm==4.70.1 PyYAML==6.0.3
  httpx2==2.16.2 httpcore2==2.16.2 h11==0.16.0 idna==3.20 truststore==0.10.5 anyio==4.16.0 sniffio==1.3.1
  # speculators.config / utils (pydantic) and speculators.utils.loading / convert (loguru)
  pydantic==2.14.3 pydantic_core==2.50.4 typing-inspection==0.4.5 annotated-types==0.8.0 loguru==0.7.3
  # speculators.train.data, imported by `import speculators`: openai, datasets, hs_connectors
  openai==3.54.0
  datasets==5.1.0 pyarrow==26.0.1 pandas==3.1.1 python-dateutil==4.0.0 dill==0.4.1 multiprocess==0.70.19
  xxhash==4.1.0
  hs-connectors==0.9.0
)
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  # -I: isolated mode, so a `speculators` folder in the current directory (e.g. this repository's root, our own package of
  # the same name) or on PYTHONPATH cannot shadow the upstream one
  "$PY" -I - "$SPEC_VERSION" "$TORCH_VERSION" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want_spec, want_torch, *pkgs = sys.argv[1:]
assert version("speculators") == want_spec and version("torch") == want_torch + "+cpu"
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch
assert not torch.cuda.is_available()
import speculators
assert speculators.__file__.startswith(sys.prefix), speculators.__file__
import speculators.utils.loading
from speculators import Eagle3DraftModel, Eagle3SpeculatorConfig, SpeculatorModel
from speculators.train.vocab_mapping import build_vocab_mappings_from_distribution
EOF
}

start=$(date +%s)
if check; then
  echo "upstream_env: $VENV already has speculators $SPEC_VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION"
"${PIP[@]}" install --no-deps "speculators==$SPEC_VERSION" "${PKGS[@]}"
"$PY" -I -c "import torch; assert not torch.cuda.is_available(); print('upstream_env: torch', torch.__version__)"
if ! check; then
  echo "upstream_env: $VENV was built but does not import speculators' EAGLE-3 modules; run" >&2
  echo "  $PY -I -c 'import speculators; from speculators import Eagle3DraftModel'" >&2
  exit 1
fi
echo "upstream_env: $VENV ready: speculators $SPEC_VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
