#!/usr/bin/env bash
# Make a separate virtual environment in which vLLM's own config translation and model-loading code runs on
# CPU, for tools/vllm_load.py:
#
#     bash tools/vllm_env.sh VENV_DIR
#     VENV_DIR/bin/python tools/vllm_load.py CONVERTED_DIR --verifier VERIFIER_DIR
#
# - torch: the CPU build. vLLM 0.33.0 declares torch==2.14.0; `torch==2.13.0` is what resolves to a local
#   CPU wheel here (PyPI's 2.14.0 for Linux is the CUDA build with its multi-GB nvidia-* dependencies).
#   The one difference that shows: torch 2.13's torch.accelerator.empty_cache() raises without an accelerator,
#   which tools/vllm_load.py turns into a no-op (and says so in its report).
# - vllm==0.33.0 with --no-deps (its wheel is built for CUDA; VLLM_TARGET_DEVICE=cpu selects its CpuPlatform;
#   the compiled vllm._C / vllm._C_AVX2 ops are not needed to build and load an EAGLE-3 draft).
# - then only what the import chain of vllm.config, vllm.engine.arg_utils, vllm.transformers_utils.config,
#   vllm.model_executor.models.llama_eagle3, vllm.model_executor.model_loader and vllm.v1.spec_decode.eagle
#   needs, found by trial (import, ModuleNotFoundError, add), each pinned and installed with --no-deps.
#   Not all are pure Python: the chain goes through vLLM's structured-output, tool-parser and OpenAI-server
#   modules (xgrammar, llguidance, oss-harmony, fastapi, aiohttp, pyzmq, msgspec, ...), which are imported at
#   module level on the way to vllm.model_executor.layers; nothing is stubbed.
# Idempotent: does nothing when VENV_DIR already imports all of it at these versions.
set -euo pipefail
VENV=${1:?usage: vllm_env.sh VENV_DIR}
VLLM_VERSION=0.33.0
TORCH_VERSION=2.13.0
PKGS=(
  # transformers (vLLM declares >=5.16.1,<5.21.0) and what it imports
  transformers==5.20.2 huggingface_hub==2.4.0 tokenizers==0.23.3 safetensors==0.8.0 numpy==2.4.6
  packaging==26.3 regex==2026.11.15 tqdm==4.70.1 PyYAML==6.0.3
  httpx2==2.16.2 httpcore2==2.16.2 h11==0.16.0 idna==3.20 truststore==0.10.5 anyio==4.16.0 sniffio==1.3.1
  # vllm.config / vllm.engine.arg_utils
  pydantic==2.14.3 pydantic_core==2.50.4 typing-inspection==0.4.5 annotated-types==0.8.0
  psutil==7.2.2 cbor2==6.3.0 pyzmq==27.3.0 msgspec==0.22.0 cloudpickle==3.1.2 pillow==13.0.0 pybase64==1.5.1
  cachetools==8.0.1 uvloop==0.23.0 py-cpuinfo==9.0.0
  requests==2.34.2 urllib3==2.8.0 certifi==2026.10.18
  aiohttp==3.14.5 multidict==7.2.1 attrs==26.1.0 yarl==1.25.1 propcache==0.5.4 aiohappyeyeballs==2.7.1
  aiosignal==1.4.0 frozenlist==1.8.0
  oss-harmony==0.0.11 openai==3.54.0
  # vllm.model_executor.* (via vllm.v1.request -> structured output -> parser/tool parsers -> entrypoints)
  prometheus_client==0.26.0 xgrammar==0.2.8 apache-tvm-ffi==0.1.11 llguidance==1.7.6
  fastapi==0.136.3 starlette==1.10.0 annotated-doc==0.0.7 partial-json-parser==0.2.1.1.post7 einops==0.8.2
  # vllm.model_executor.model_loader (online-quantization check) -> compressed_tensors
  compressed-tensors==0.17.0 loguru==0.7.3
)
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  VLLM_TARGET_DEVICE=cpu VLLM_LOGGING_LEVEL=ERROR "$PY" - "$VLLM_VERSION" "$TORCH_VERSION" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
want_vllm, want_torch, *pkgs = sys.argv[1:]
assert version("vllm") == want_vllm and version("torch").startswith(want_torch)
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch, vllm.config, vllm.engine.arg_utils, vllm.transformers_utils.config
import vllm.model_executor.models.llama_eagle3, vllm.model_executor.model_loader, vllm.v1.spec_decode.eagle
import compressed_tensors
EOF
}

start=$(date +%s)
if check; then
  echo "vllm_env: $VENV already has vllm $VLLM_VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION"
"${PIP[@]}" install --no-deps "vllm==$VLLM_VERSION" "${PKGS[@]}"
"$PY" -c "import torch; assert not torch.cuda.is_available(); print('vllm_env: torch', torch.__version__)"
if ! check; then
  echo "vllm_env: $VENV was built but does not import vLLM's loading modules; run" >&2
  echo "  VLLM_TARGET_DEVICE=cpu $PY -c 'import vllm.model_executor.models.llama_eagle3, vllm.v1.spec_decode.eagle'" >&2
  exit 1
fi
echo "vllm_env: $VENV ready: vllm $VLLM_VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
