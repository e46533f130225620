#!/usr/bin/env bash
# Make a separate virtual environment in which SpecForge's own EAGLE-3 draft classes, trainer step, checkpoint
# writer and exporter run on CPU, for specforge_fixture.py:
#
#     bash specforge_env.sh VENV_DIR
#     VENV_DIR/bin/python specforge_fixture.py OUT_DIR --variant plain
#
# - torch: the CPU build. specforge 0.2.0 declares torch==2.11.0; `torch==2.13.0` is what resolves to a local
#   CPU wheel here (PyPI's Linux torch is the CUDA build with multi-GB nvidia-* dependencies). Its own
#   dependencies are pinned below so the venv holds exactly these versions.
# - specforge==0.2.0 (the newest on PyPI; 0.1.0 is the other) with --no-deps: it declares sglang==0.5.14,
#   wandb, tensorboard, yunchang, accelerate, openai-harmony, ... none of which the modules below import.
# - then only what the import chain of specforge.modeling.auto, specforge.algorithms.eagle3.model,
#   specforge.training.{strategies.base,backend,checkpoint,model_loading}, specforge.export.{to_sglang,to_hf},
#   specforge.data.preprocessing, specforge.modeling.target.target_head and specforge.cli needs, found by trial
#   (import, ModuleNotFoundError, add), each pinned and installed with --no-deps:
#     transformers==5.8.1 is specforge's own pin (it wants huggingface-hub<2 and tokenizers<=0.23.0);
#     triton: specforge/core/loss.py imports it at module level (the EAGLE-3 loss is a triton kernel; on CPU the
#       fixture runs it in triton's interpreter, TRITON_INTERPRET=1);
#     datasets (+ pyarrow, pandas, dill, multiprocess, xxhash, dateutil, six): specforge/data/preprocessing.py,
#       home of process_token_dict_to_mappings (the d2t/t2d builder), imports it at module level;
#     pydantic: specforge.config (the CLI's typed config) and the data parsers.
#   Nothing is stubbed.
# Idempotent: does nothing when VENV_DIR already imports all of it at these versions.
set -euo pipefail
VENV=${1:?usage: specforge_env.sh VENV_DIR}
SPECFORGE_VERSION=0.2.0
TORCH_VERSION=2.13.0
TORCH_DEPS=(
  filelock==4.3.2 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1 sympy==1.14.0
  typing_extensions==4.16.0
)
PKGS=(
  # transformers (specforge pins 5.8.1) and what it and huggingface_hub import
  transformers==5.8.1 huggingface_hub==1.33.0 tokenizers==0.22.2 safetensors==0.8.0 numpy==2.4.6
  packaging==26.3 regex==2026.11.15 tqdm==4.70.1 PyYAML==6.0.3
  httpx==0.29.0 httpcore==1.0.9 h11==0.16.0 idna==3.20 anyio==4.16.0 certifi==2026.10.18
  # specforge.core.loss (imported by specforge.algorithms.eagle3.model)
  triton==3.9.0
  # specforge.data.preprocessing -> datasets
  datasets==5.2.0 pyarrow==26.0.1 pandas==3.1.1 python-dateutil==2.9.0.post0 six==1.17.0 dill==0.4.1
  multiprocess==0.70.19 xxhash==4.1.0
  # specforge.cli / specforge.config / specforge.data.parse
  pydantic==2.14.3 pydantic_core==2.50.4 typing-inspection==0.4.5 annotated-types==0.8.0
)
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  TRITON_INTERPRET=1 "$PY" -W ignore - "$SPECFORGE_VERSION" "$TORCH_VERSION" "${TORCH_DEPS[@]}" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want_specforge, want_torch, *pkgs = sys.argv[1:]
assert version("specforge") == want_specforge and version("torch").startswith(want_torch)
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch
assert not torch.cuda.is_available()
import specforge.modeling.auto, specforge.algorithms.eagle3.model, specforge.training.strategies.base
import specforge.training.backend, specforge.training.checkpoint, specforge.training.model_loading
import specforge.export.to_sglang, specforge.export.to_hf, specforge.data.preprocessing
import specforge.modeling.target.target_head, specforge.runtime.contracts, specforge.cli
EOF
}

start=$(date +%s)
if check; then
  echo "specforge_env: $VENV already has specforge $SPECFORGE_VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION" "${TORCH_DEPS[@]}"
"${PIP[@]}" install --no-deps "specforge==$SPECFORGE_VERSION" "${PKGS[@]}"
"$PY" -c "import torch; assert not torch.cuda.is_available(), 'not the CPU torch'; print('specforge_env: torch', torch.__version__)"
if ! check; then
  echo "specforge_env: $VENV was built but does not import SpecForge's modules; run" >&2
  echo "  TRITON_INTERPRET=1 $PY -c 'import specforge.algorithms.eagle3.model, specforge.data.preprocessing, specforge.cli'" >&2
  exit 1
fi
echo "specforge_env: $VENV ready: specforge $SPECFORGE_VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
