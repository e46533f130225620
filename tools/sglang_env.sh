#!/usr/bin/env bash
# Make a separate virtual environment in which SGLang's own server-argument, config, model-registry and
# model-loading code runs on CPU, for tools/sglang_load.py:
#
#     bash tools/sglang_env.sh VENV_DIR
#     VENV_DIR/bin/python -I tools/sglang_load.py SGLANG_DRAFT_DIR --verifier VERIFIER_DIR
#
# - torch: the CPU build. SGLang 0.5.23 declares torch==2.14.1; `torch==2.13.0` is what resolves to a local
#   CPU wheel here (PyPI's Linux torch is the CUDA build with its multi-GB nvidia-* dependencies). Installed first
#   and with its own (small, pure-Python) dependencies; everything after it goes in with --no-deps.
# - sglang==0.5.23 (the newest on PyPI when this was written) with --no-deps: its wheel is pure Python; its
#   declared dependencies are the CUDA stack (sglang-kernel, flashinfer, flash-attn, cuda-python, ...), none of
#   which the load path imports.
# - SGLang's own CPU engine (SGLANG_USE_CPU_ENGINE=1) is not used: it imports the CPU build of sgl_kernel at module
#   level in ~130 places, and that build is not on PyPI (PyPI's sglang-kernel is CUDA only). Without it SGLang runs
#   on its base SRTPlatform, whose RotaryEmbedding takes `rotary_embedding` from vllm._custom_ops when built
#   (layers/rotary_embedding/base.py:122-140); hence vllm (never called: no forward runs).
# - then only what the import chain of sglang.srt.server_args (prepare_server_args + resolve_once),
#   sglang.srt.distributed.bootstrap, sglang.srt.configs.model_config, sglang.srt.models.registry (which imports
#   every model module; ones that fail to import are skipped with a warning, as in a server), llama_eagle3 / llama /
#   qwen3, sglang.srt.model_loader.loader and the model runner's spec-aux components needs, found by trial (import,
#   ModuleNotFoundError, add), each pinned and installed with --no-deps. Pins follow SGLang's own where it has one
#   (transformers 5.19.0, tokenizers 0.23.2, apache-tvm-ffi 0.1.11, compressed-tensors 0.18.0, sentencepiece 0.2.1),
#   else the version that imports here. Not all are pure Python (triton, pyzmq, orjson, msgspec, ...): they are
#   imported at module level on the way (sglang/srt/utils/common.py imports triton; the distributed bootstrap
#   imports uvicorn / fastapi; the function-call parsers openai); nothing is stubbed.
# - torchvision==0.16.2: sglang.srt.configs imports torchvision (multimodal/internvl_utils.py) unconditionally. PyPI's
#   torchvision is a CUDA build whose C++ ops do not load on CPU torch, and from 0.17 on its _meta_registrations
#   registers a fake kernel for torchvision::nms without checking that the ops loaded, which raises on import;
#   0.16.2 is the newest whose import survives missing C++ ops (its transforms, all SGLang imports, are Python).
# Idempotent: does nothing when VENV_DIR already imports all of it at these versions.
set -euo pipefail
VENV=${1:?usage: sglang_env.sh VENV_DIR}
SGLANG_VERSION=0.5.23
TORCH_VERSION=2.13.0
PKGS=(
  # transformers (SGLang pins 5.19.0) and what it imports
  transformers==5.19.0 tokenizers==0.23.2 huggingface_hub==2.4.0 safetensors==0.8.0 numpy==2.4.6 packaging==26.3
  regex==2026.11.15 tqdm==4.70.1 PyYAML==6.0.3
  httpx2==2.16.2 httpcore2==2.16.2 h11==0.16.0 idna==3.20 truststore==0.10.5 anyio==4.16.0 sniffio==1.3.1
  # sglang.srt.utils.common, sglang.utils, platforms
  orjson==3.13.0 psutil==7.2.2 pybase64==1.5.1 requests==2.34.2 urllib3==2.8.0 certifi==2026.10.19.post1
  triton==3.9.0 pillow==13.0.0 starlette==1.10.0 msgspec==0.23.0 pyzmq==27.3.0
  pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0
  ipython==9.18.1 traitlets==5.16.1 Pygments==2.21.0
  aiohttp==3.14.5 multidict==7.2.1 attrs==26.1.0 yarl==1.25.1 propcache==0.5.4 aiohappyeyeballs==2.7.1
  aiosignal==1.4.0 frozenlist==1.8.0
  torchvision==0.16.2
  # sglang.srt.configs / layers / models (sampling, kernels, quantization, eplb, function-call parsers)
  dill==0.4.1 apache-tvm-ffi==0.1.11 sentencepiece==0.2.1 compressed-tensors==0.18.0 loguru==0.7.3 gguf==0.19.0
  einops==0.8.2 openai==3.63.0 partial-json-parser==0.2.1.1.post7
  # sglang.srt.distributed.bootstrap (gated launch)
  uvicorn==0.55.0 click==8.5.1 fastapi==0.136.3 annotated-doc==0.0.7
  # RotaryEmbedding on SGLang's base platform (see above)
  vllm==0.33.0
)
PY="$VENV/bin/python"

check() {
  [ -x "$PY" ] || return 1
  (cd / && "$PY" -I - "$SGLANG_VERSION" "$TORCH_VERSION" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys, warnings
warnings.filterwarnings("ignore")
from importlib.metadata import version
want_sglang, want_torch, *pkgs = sys.argv[1:]
assert version("sglang") == want_sglang and version("torch").startswith(want_torch)
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch, vllm._custom_ops
import sglang.srt.server_args, sglang.srt.distributed.bootstrap, sglang.srt.configs.model_config
import sglang.srt.models.llama_eagle3, sglang.srt.models.llama, sglang.srt.models.qwen3, sglang.srt.model_loader.loader
import sglang.srt.model_executor.model_runner_components.spec_aux_hidden_state
import sglang.srt.model_executor.model_runner_components.attention_backend_setup
EOF
  )
}

start=$(date +%s)
if check; then
  echo "sglang_env: $VENV already has sglang $SGLANG_VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION"
"${PIP[@]}" install --no-deps "sglang==$SGLANG_VERSION" "${PKGS[@]}"
"$PY" -c "import torch; assert not torch.cuda.is_available(); print('sglang_env: torch', torch.__version__)"
if ! check; then
  echo "sglang_env: $VENV was built but does not import SGLang's loading modules; run" >&2
  echo "  $PY -I -c 'import sglang.srt.server_args, sglang.srt.models.llama_eagle3, sglang.srt.model_loader.loader'" >&2
  exit 1
fi
echo "sglang_env: $VENV ready: sglang $SGLANG_VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
