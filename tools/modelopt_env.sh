#!/usr/bin/env bash
# Make a separate virtual environment in which NVIDIA ModelOpt's own EAGLE-3 code (conversion, HF export,
# draft forward) runs on CPU, for modelopt_fixture.py:
#
#     bash modelopt_env.sh VENV_DIR VERSION        # VERSION: 0.39.0 (or 0.39) | 0.47.0 (or 0.47)
#     VENV_DIR/bin/python modelopt_fixture.py OUT_DIR --layers 1
#
# - torch: the CPU build, `torch==2.13.0` (a local CPU wheel here), with its own dependencies pinned.
# - nvidia-modelopt==VERSION with --no-deps (it declares ninja, nvidia-ml-py, torchprofile, ... which the
#   speculative/export import chain does not need).
# - then only what the import chain of modelopt.torch.speculative (+ its HF plugin) and modelopt.torch.export
#   needs, found by trial (import, ModuleNotFoundError, add; then each candidate removed again to see that it
#   is needed), each pinned and installed with --no-deps. Nothing stubbed.
# - transformers: 5.25.0 (the main env's) does not work with either release, so each gets the newest
#   release inside the range its [hf] extra declares:
#     0.39.0 declares transformers<4.58: with 5.25.0 `mtsp.convert` fails in HFEagleModel.modify,
#       PretrainedConfig.from_dict(...) -> standardize_rope_params: AttributeError 'PreTrainedConfig' object
#       has no attribute 'max_position_embeddings'.  -> transformers==4.57.6 (+ huggingface_hub 0.36.2,
#       tokenizers 0.22.2, requests).
#     0.47.0 declares transformers<5.15,>=4.57: with 5.25.0 the draft forward fails in
#       EagleModule._maybe_init_rope: LlamaRotaryEmbedding.__init__() got an unexpected keyword argument
#       'device'.  -> transformers==5.14.1 (+ huggingface_hub 1.33.0, httpx 0.29.0, tokenizers 0.22.2).
# Idempotent: does nothing when VENV_DIR already has exactly these pins and imports the chain.
set -euo pipefail
VENV=${1:?usage: modelopt_env.sh VENV_DIR VERSION}
VERSION=${2:?usage: modelopt_env.sh VENV_DIR VERSION (0.39.0 or 0.47.0)}
TORCH_VERSION=2.13.0
TORCH_DEPS=(filelock==4.3.2 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1
            sympy==1.14.0 typing_extensions==4.16.0 setuptools==84.2.1)
COMMON=(
  numpy==2.4.6 packaging==26.4 safetensors==0.8.0 PyYAML==6.0.4 regex==2026.11.19 tqdm==4.70.1
  pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0   # modelopt.torch.opt.config
  rich==15.0.0 scipy==1.17.1 PuLP==3.3.2                                                   # modelopt.torch.utils / opt
  requests==2.34.2 urllib3==2.8.0 certifi==2026.10.19.post1 idna==3.20 charset-normalizer==3.5.3
)
case "$VERSION" in
  0.39|0.39.0)
    VERSION=0.39.0
    PKGS=("${COMMON[@]}" transformers==4.57.6 huggingface_hub==0.36.2 tokenizers==0.22.2 torchprofile==0.1.0)
    CHAIN="import modelopt.torch.speculative as mtsp, modelopt.torch.speculative.plugins.transformers; from modelopt.torch.export import export_hf_checkpoint";;
  0.47|0.47.0)
    VERSION=0.47.0
    PKGS=("${COMMON[@]}" transformers==5.14.1 huggingface_hub==1.33.0 tokenizers==0.22.2 httpx==0.29.0
          httpcore==1.0.9 h11==0.16.0 omegaconf==2.4.0)
    CHAIN="import modelopt.torch.speculative as mtsp, modelopt.torch.speculative.plugins.hf_eagle; from modelopt.torch.export import export_speculative_decoding";;
  *) echo "modelopt_env: VERSION must be 0.39.0 or 0.47.0 (got $VERSION)" >&2; exit 2;;
esac
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  "$PY" -W ignore - "$VERSION" "$TORCH_VERSION" "$CHAIN" "${TORCH_DEPS[@]}" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want, want_torch, chain, *pkgs = sys.argv[1:]
assert version("nvidia-modelopt") == want and version("torch").startswith(want_torch + "+cpu")
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch
assert not torch.cuda.is_available()
exec(chain)
EOF
}

start=$(date +%s)
if check; then
  echo "modelopt_env: $VENV already has nvidia-modelopt $VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION" "${TORCH_DEPS[@]}"
"${PIP[@]}" install --no-deps "nvidia-modelopt==$VERSION" "${PKGS[@]}"
"$PY" -c "import torch; assert not torch.cuda.is_available(); print('modelopt_env: torch', torch.__version__)"
if ! check; then
  echo "modelopt_env: $VENV was built but does not pass the check; run" >&2
  echo "  $PY -c '$CHAIN'" >&2
  exit 1
fi
echo "modelopt_env: $VENV ready: nvidia-modelopt $VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
