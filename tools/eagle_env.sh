#!/usr/bin/env bash
# Make a separate virtual environment in which the EAGLE authors' own code (SafeAILab/EAGLE, the `eagle-llm`
# package on PyPI, newest 1.2.1) runs on CPU, as a producer fixture and judge for EAGLE v1/v2 drafts:
#
#     bash eagle_env.sh VENV_DIR
#     VENV_DIR/bin/python -I eagle_fixture.py OUT_DIR --variant v1
#
# - eagle-llm 1.2.1 (2024-04; PyPI also has 1.2.0 and 1.1.0) is the EAGLE-1/2 code: its eagle/model/cnets.py is
#   the EAGLE v1/v2 draft (the GitHub repo later renamed it cnets1.py and put EAGLE-3 in cnets.py). The wheel
#   has no cnets1.py, no EAGLE-3 draft and no traineagle3/: EAGLE-3 exists only on GitHub (setup.py there says
#   3.0.0, never published), so this venv judges EAGLE v1/v2 drafts only.
# - torch: the CPU build. `torch==2.13.0` resolves to the local CPU wheel; installed first, so pip never
#   looks at the CUDA build. eagle-llm declares plain `torch` (and its GitHub setup.py torch==2.0.1).
# - eagle-llm==1.2.1 with --no-deps: it declares accelerate==0.21.0, fschat, gradio, openai, anthropic,
#   sentencepiece, protobuf, wandb; the modules used here (eagle.model.{cnets,configs,ea_model,
#   modeling_llama_kv,utils,...}) import none but transformers/huggingface_hub, and accelerate is what its
#   trainer saves a checkpoint with (eagle/train/main.py:484 accelerator.save_state).
# - then only what that import chain needs, found by trial (import, ModuleNotFoundError, add), each pinned
#   and installed with --no-deps:
#     transformers==4.46.3: their code is 4.x code (transformers 5 breaks it); 4.46.3 is the newest release
#       of the 4.46 line their GitHub setup.py pins (4.46.2); it wants huggingface-hub<1 (0.36.2) and
#       tokenizers<0.21 (0.20.3);
#     requests (+ urllib3, idna, certifi, charset-normalizer): huggingface_hub 0.36 imports them
#       (eagle.model.ea_model imports hf_hub_download);
#     accelerate==0.21.0 (their pin) + psutil: the trainer's Accelerator.save_state.
#   Nothing is stubbed. eagle/train/main.py itself cannot be imported (a module-level script: wandb.init,
#   argparse, reads its data dir), so the fixture calls the same Accelerator.save_state it calls.
# Idempotent: does nothing when VENV_DIR already imports all of it at these versions.
set -euo pipefail
VENV=${1:?usage: eagle_env.sh VENV_DIR}
EAGLE_VERSION=1.2.1
TORCH_VERSION=2.13.0
PKGS=(
  # torch's own requirements, pinned to what its install brings
  filelock==4.3.2 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1 sympy==1.14.0
  typing_extensions==4.16.0 setuptools==84.2.1
  # transformers 4.46 and what it imports
  transformers==4.46.3 huggingface_hub==0.36.2 tokenizers==0.20.3 safetensors==0.8.0 numpy==2.4.6
  packaging==26.3 regex==2026.11.15 tqdm==4.70.1 PyYAML==6.0.3
  requests==2.34.2 urllib3==2.7.0 idna==3.20 certifi==2026.10.18 charset-normalizer==3.5.3
  # eagle/train/main.py's checkpoint writer (their pin)
  accelerate==0.21.0 psutil==7.2.2
)
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  "$PY" -I - "$EAGLE_VERSION" "$TORCH_VERSION" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want_eagle, want_torch, *pkgs = sys.argv[1:]
assert version("eagle-llm") == want_eagle and version("torch") == want_torch + "+cpu"
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch
assert not torch.cuda.is_available()
import eagle
assert eagle.__file__.startswith(sys.prefix), eagle.__file__
from eagle.model.cnets import Model
from eagle.model.configs import EConfig
from eagle.model.ea_model import EaModel
from accelerate import Accelerator
EOF
}

start=$(date +%s)
if check; then
  echo "eagle_env: $VENV already has eagle-llm $EAGLE_VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION"
"${PIP[@]}" install --no-deps "eagle-llm==$EAGLE_VERSION" "${PKGS[@]}"
"$PY" -I -c "import torch; assert not torch.cuda.is_available(); print('eagle_env: torch', torch.__version__)"
if ! check; then
  echo "eagle_env: $VENV was built but does not import eagle-llm's draft modules; run" >&2
  echo "  $PY -I -c 'from eagle.model.cnets import Model; from eagle.model.ea_model import EaModel'" >&2
  exit 1
fi
echo "eagle_env: $VENV ready: eagle-llm $EAGLE_VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
