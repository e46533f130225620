#!/usr/bin/env bash
# Make a separate virtual environment in which AngelSlim's own EAGLE-3 draft classes, online trainer (and its
# checkpoint save) and HF inference drafter run on CPU, for angelslim_fixture.py:
#
#     bash angelslim_env.sh VENV_DIR
#     VENV_DIR/bin/python -I angelslim_fixture.py OUT_DIR --variant plain
#
# - torch: the CPU build. `torch==2.13.0` is what resolves to a local CPU wheel here (PyPI's Linux torch is the
#   CUDA build with multi-GB nvidia-* dependencies). Its own dependencies are pinned below so the venv holds exactly
#   these versions (fsspec at 2026.2.0, the newest that datasets 4.8.5 accepts).
# - angelslim==0.3.0 with --no-deps, NOT 0.5.0 (the newest on PyPI): the 0.5.0 wheel cannot be imported at all.
#   Every `import angelslim.<anything>` runs angelslim/__init__.py -> engine -> compressor/__init__.py:17
#   `from .qad import QAD` -> compressor/qad/qad.py:25 `from ..qat.plugins import PluginManager`, and the wheel has
#   no angelslim/compressor/qat/ (the source tree at tag v0.5.0 has no angelslim/compressor/qat/__init__.py, so
#   setup.py's find_packages() left the whole subpackage out): ModuleNotFoundError: No module named
#   'angelslim.compressor.qat'. There is no 0.5.0 sdist. 0.3.0 is the newest release whose wheel imports.
#   0.3.0 declares transformers>=4.57.1 and its draft's _init_rope indexes rope_scaling["type"], which transformers 5
#   always fills with {"rope_theta", "rope_type"} (KeyError), so transformers 4.57.6 (the newest 4.x).
# - then only what the import chain of angelslim.compressor.speculative (its __init__ pulls in angelslim/__init__,
#   the quantization and data packages too), the online EAGLE-3 trainer (a transformers Trainer: accelerate) and
#   the inference drafter needs, found by trial (import or run the fixture, ModuleNotFoundError, add; then remove
#   each one not seen missing and rerun), each pinned and installed with --no-deps:
#     triton: angelslim/compressor/quant/core/quant_func.py imports it at module level;
#     threadpoolctl: compressor/quant/modules/gptq/gptq.py;  shortuuid: speculative/benchmark/pytorch;
#     pillow: speculative/train/data/dataset_builder/online_dataset_builder.py;
#     tiktoken (+ regex, requests): angelslim/models/llm/tiktoken_tokenizer.py (Kimi-K2);
#     datasets 4.8.5 (+ pyarrow, pandas, python-dateutil, six, dill, multiprocess, xxhash, httpx): speculative/
#       train/data/data_generation.py; 4.8.5 is the newest datasets that accepts huggingface_hub < 1;
#     accelerate: transformers.TrainingArguments refuses to set up the Trainer without it.
#   Nothing is stubbed.
# Idempotent: does nothing when VENV_DIR already imports all of it at these versions.
set -euo pipefail
VENV=${1:?usage: angelslim_env.sh VENV_DIR}
ANGELSLIM_VERSION=0.3.0
TORCH_VERSION=2.13.0
TORCH_DEPS=(
  filelock==4.3.2 fsspec==2026.2.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1 sympy==1.14.0
  typing_extensions==4.16.0
)
PKGS=(
  # transformers 4.57.6 and what it and huggingface_hub import
  transformers==4.57.6 huggingface_hub==0.36.2 tokenizers==0.22.2 safetensors==0.8.0 numpy==2.4.6 packaging==26.4
  PyYAML==6.0.4 regex==2026.11.19 tqdm==4.70.1
  # requests (datasets, tiktoken)
  requests==2.34.2 urllib3==2.8.0 certifi==2026.10.19.post1 idna==3.20
  # angelslim/__init__ -> engine -> compressor (quantization), models, data
  triton==3.9.0 threadpoolctl==3.8.0 shortuuid==1.0.13 pillow==13.0.0 tiktoken==0.14.0
  # angelslim.compressor.speculative.train.data -> datasets
  datasets==4.8.5 pyarrow==26.0.1 pandas==3.1.1 python-dateutil==2.9.0.post0 six==1.17.0 dill==0.4.1
  multiprocess==0.70.19 xxhash==4.1.0 httpx==0.29.0
  # transformers.Trainer
  accelerate==1.16.0
)
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  "$PY" -I -W ignore - "$ANGELSLIM_VERSION" "$TORCH_VERSION" "${TORCH_DEPS[@]}" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want_angelslim, want_torch, *pkgs = sys.argv[1:]
assert version("angelslim") == want_angelslim and version("torch").startswith(want_torch)
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch
assert not torch.cuda.is_available()
import transformers
transformers.TrainingArguments(output_dir="/nonexistent", use_cpu=True, report_to="none")  # needs accelerate
import angelslim.compressor.speculative
import angelslim.compressor.speculative.train.models.draft.llama_eagle3
import angelslim.compressor.speculative.train.trainer.online_eagle3_trainer
import angelslim.compressor.speculative.train.trainer.offline_eagle3_trainer
import angelslim.compressor.speculative.train.models.target.target_model_wrapper
import angelslim.compressor.speculative.inference.models.eagle3.eagle3_model
import angelslim.compressor.speculative.inference.models.eagle3.draft.llama3_eagle3
EOF
}

start=$(date +%s)
if check; then
  echo "angelslim_env: $VENV already has angelslim $ANGELSLIM_VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION" "${TORCH_DEPS[@]}"
"${PIP[@]}" install --no-deps "angelslim==$ANGELSLIM_VERSION" "${PKGS[@]}"
"$PY" -c "import torch; assert not torch.cuda.is_available(), 'not the CPU torch'; print('angelslim_env: torch', torch.__version__)"
if ! check; then
  echo "angelslim_env: $VENV was built but does not import AngelSlim's modules; run" >&2
  echo "  $PY -I -c 'import angelslim.compressor.speculative.train.trainer.online_eagle3_trainer'" >&2
  exit 1
fi
echo "angelslim_env: $VENV ready: angelslim $ANGELSLIM_VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
