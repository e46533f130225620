#!/usr/bin/env bash
# Make a separate virtual environment in which one producer's own code (the package that trains and saves the
# drafts this library converts) runs on CPU, as a producer fixture and judge:
#
#     bash tools/producer_env.sh NAME VENV_DIR
#     VENV_DIR/bin/python -I tools/<producer>_fixture.py OUT_DIR ...
#
# NAME: upstream | specforge | modelopt-0.39 | modelopt-0.47 | angelslim | eagle | dflash (one branch each below,
# with its pins and why they are what they are).
#
# The same recipe for every producer (and the same as tools/vllm_env.sh):
# - torch: the CPU build. `torch==2.13.0` is what resolves to a local CPU wheel here (PyPI's Linux torch is the
#   CUDA build with multi-GB nvidia-* dependencies). Installed first, so pip never looks at the CUDA build; its
#   own dependencies are pinned so the venv holds exactly these versions.
# - the producer with --no-deps (each declares far more than the modules used here import),
# - then only what the producer's import chain needs, found by trial (import, ModuleNotFoundError, add), each
#   pinned and installed with --no-deps. Nothing is stubbed.
# Idempotent: does nothing when VENV_DIR already has exactly these pins (the producer's, torch's, every package's)
# and imports the producer's chain (check() below).
set -euo pipefail
USAGE="usage: producer_env.sh NAME VENV_DIR (NAME: upstream, specforge, modelopt-0.39, modelopt-0.47, angelslim, eagle, dflash)"
NAME=${1:?$USAGE}
VENV=${2:?$USAGE}
TORCH_VERSION=2.13.0

# Each branch sets:
#   DIST, VERSION  the producer, installed with --no-deps
#   TORCH_DEPS     installed together with torch (empty: torch alone, resolved from the index; its dependencies are
#                  then pinned in PKGS and replaced by the --no-deps install)
#   PKGS           installed with --no-deps together with the producer
#   CHECK_FLAGS    the python flags of the check;  CHECK_ENV: its environment (env NAME=VALUE ...)
#   CHECK          python run by the check after the version asserts (exec'd, dedented); sees sys, version, want_torch
#   FAIL, HINT     what a built venv that still fails the check prints: "... was built but $FAIL; run" / "  $HINT"
TORCH_DEPS=()
CHECK_ENV=()
PY="$VENV/bin/python"
case "$NAME" in
  upstream)
    # The upstream `speculators` package (PyPI, 0.9.0: the producer of the EAGLE 3.1 flags norm_before_fc /
    # fc_norm / norm_output):
    #     VENV_DIR/bin/python -I upstream_fixture.py OUT_DIR --variant plain
    # Always -I (or at least never from this repository's root with `python -c`): our own package is also called
    # `speculators`, and a cwd or PYTHONPATH entry holding it shadows the upstream one (upstream_fixture.py refuses
    # to run then).
    # - torch: upstream declares torch>=2.9.0,<=2.14.1.
    # - speculators==0.9.0 with --no-deps (it declares torchaudio, torchvision, datasets, mooncake extras, ...),
    #   then only what `import speculators` and its EAGLE-3 build/save/forward/from_pretrained need. The package's
    #   __init__ imports speculators.train.data, hence openai, datasets (pyarrow, pandas, dill, multiprocess,
    #   xxhash) and hs_connectors at import time. loguru is needed by from_pretrained (speculators.utils.loading)
    #   and by its converter.
    # - transformers==5.19.0: upstream declares transformers>=5.0.0,<=5.19.0 (the project's vLLM venv has 5.20.2).
    # - fsspec==2026.7.0: datasets 5.1.0 declares fsspec<=2026.7.0 (torch's install brings a newer one; replaced).
    DIST=speculators VERSION=0.9.0
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
    # -I: isolated mode, so a `speculators` folder in the current directory (e.g. this repository's root, our own
    # package of the same name) or on PYTHONPATH cannot shadow the upstream one
    CHECK_FLAGS=(-I)
    CHECK='
      assert version("torch") == want_torch + "+cpu"
      import speculators
      assert speculators.__file__.startswith(sys.prefix), speculators.__file__
      import speculators.utils.loading
      from speculators import Eagle3DraftModel, Eagle3SpeculatorConfig, SpeculatorModel
      from speculators.train.vocab_mapping import build_vocab_mappings_from_distribution'
    FAIL="does not import speculators' EAGLE-3 modules"
    HINT="$PY -I -c 'import speculators; from speculators import Eagle3DraftModel'";;

  specforge)
    # SpecForge's own EAGLE-3 draft classes, trainer step, checkpoint writer and exporter:
    #     VENV_DIR/bin/python -I specforge_fixture.py OUT_DIR --variant plain
    # - torch: specforge 0.2.0 declares torch==2.11.0; 2.13.0 is what resolves to the local CPU wheel.
    # - specforge==0.2.0 (the newest on PyPI; 0.1.0 is the other) with --no-deps: it declares sglang==0.5.14,
    #   wandb, tensorboard, yunchang, accelerate, openai-harmony, ... none of which the modules below import.
    # - then only what the import chain of specforge.modeling.auto, specforge.algorithms.eagle3.model,
    #   specforge.training.{strategies.base,backend,checkpoint,model_loading}, specforge.export.{to_sglang,to_hf},
    #   specforge.data.preprocessing, specforge.modeling.target.target_head and specforge.cli needs:
    #     transformers==5.8.1 is specforge's own pin (it wants huggingface-hub<2 and tokenizers<=0.23.0);
    #     triton: specforge/core/loss.py imports it at module level (the EAGLE-3 loss is a triton kernel; on CPU the
    #       fixture runs it in triton's interpreter, TRITON_INTERPRET=1, and so does the check);
    #     datasets (+ pyarrow, pandas, dill, multiprocess, xxhash, dateutil, six): specforge/data/preprocessing.py,
    #       home of process_token_dict_to_mappings (the d2t/t2d builder), imports it at module level;
    #     pydantic: specforge.config (the CLI's typed config) and the data parsers.
    DIST=specforge VERSION=0.2.0
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
    CHECK_FLAGS=(-W ignore)
    CHECK_ENV=(TRITON_INTERPRET=1)
    CHECK='
      assert version("torch").startswith(want_torch)
      import specforge.modeling.auto, specforge.algorithms.eagle3.model, specforge.training.strategies.base
      import specforge.training.backend, specforge.training.checkpoint, specforge.training.model_loading
      import specforge.export.to_sglang, specforge.export.to_hf, specforge.data.preprocessing
      import specforge.modeling.target.target_head, specforge.runtime.contracts, specforge.cli'
    FAIL="does not import SpecForge's modules"
    HINT="TRITON_INTERPRET=1 $PY -c 'import specforge.algorithms.eagle3.model, specforge.data.preprocessing, specforge.cli'";;

  modelopt-0.39|modelopt-0.39.0|modelopt-0.47|modelopt-0.47.0)
    # NVIDIA ModelOpt's own EAGLE-3 code (conversion, HF export, draft forward):
    #     VENV_DIR/bin/python -I modelopt_fixture.py OUT_DIR --layers 1
    # - nvidia-modelopt==VERSION with --no-deps (it declares ninja, nvidia-ml-py, torchprofile, ... which the
    #   speculative/export import chain does not need).
    # - then only what the import chain of modelopt.torch.speculative (+ its HF plugin) and modelopt.torch.export
    #   needs, found by trial (import, ModuleNotFoundError, add; then each candidate removed again to see that it
    #   is needed).
    # - transformers: 5.25.0 (the main env's) does not work with either release, so each gets the newest
    #   release inside the range its [hf] extra declares:
    #     0.39.0 declares transformers<4.58: with 5.25.0 `mtsp.convert` fails in HFEagleModel.modify,
    #       PretrainedConfig.from_dict(...) -> standardize_rope_params: AttributeError 'PreTrainedConfig' object
    #       has no attribute 'max_position_embeddings'.  -> transformers==4.57.6 (+ huggingface_hub 0.36.2,
    #       tokenizers 0.22.2, requests).
    #     0.47.0 declares transformers<5.15,>=4.57: with 5.25.0 the draft forward fails in
    #       EagleModule._maybe_init_rope: LlamaRotaryEmbedding.__init__() got an unexpected keyword argument
    #       'device'.  -> transformers==5.14.1 (+ huggingface_hub 1.33.0, httpx 0.29.0, tokenizers 0.22.2).
    DIST=nvidia-modelopt
    TORCH_DEPS=(filelock==4.3.2 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1
                sympy==1.14.0 typing_extensions==4.16.0 setuptools==84.2.1)
    PKGS=(
      numpy==2.4.6 packaging==26.4 safetensors==0.8.0 PyYAML==6.0.4 regex==2026.11.19 tqdm==4.70.1
      pydantic==2.14.4 pydantic_core==2.50.5 typing-inspection==0.4.5 annotated-types==0.8.0   # modelopt.torch.opt.config
      rich==15.0.0 scipy==1.17.1 PuLP==3.3.2                                                   # modelopt.torch.utils / opt
      requests==2.34.2 urllib3==2.8.0 certifi==2026.10.19.post1 idna==3.20 charset-normalizer==3.5.3
    )
    case "$NAME" in
      modelopt-0.39*)
        VERSION=0.39.0
        PKGS+=(transformers==4.57.6 huggingface_hub==0.36.2 tokenizers==0.22.2 torchprofile==0.1.0)
        CHAIN="import modelopt.torch.speculative as mtsp, modelopt.torch.speculative.plugins.transformers; from modelopt.torch.export import export_hf_checkpoint";;
      *)
        VERSION=0.47.0
        PKGS+=(transformers==5.14.1 huggingface_hub==1.33.0 tokenizers==0.22.2 httpx==0.29.0
               httpcore==1.0.9 h11==0.16.0 omegaconf==2.4.0)
        CHAIN="import modelopt.torch.speculative as mtsp, modelopt.torch.speculative.plugins.hf_eagle; from modelopt.torch.export import export_speculative_decoding";;
    esac
    CHECK_FLAGS=(-W ignore)
    CHECK='
      assert version("torch").startswith(want_torch + "+cpu")
      '"$CHAIN"
    FAIL="does not pass the check"
    HINT="$PY -c '$CHAIN'";;

  angelslim)
    # AngelSlim's own EAGLE-3 draft classes, online trainer (and its checkpoint save) and HF inference drafter:
    #     VENV_DIR/bin/python -I angelslim_fixture.py OUT_DIR --variant plain
    # - torch: its dependencies pinned with fsspec at 2026.2.0, the newest that datasets 4.8.5 accepts.
    # - angelslim==0.3.0 with --no-deps, NOT 0.5.0 (the newest on PyPI): the 0.5.0 wheel cannot be imported at all.
    #   Every `import angelslim.<anything>` runs angelslim/__init__.py -> engine -> compressor/__init__.py:17
    #   `from .qad import QAD` -> compressor/qad/qad.py:25 `from ..qat.plugins import PluginManager`, and the wheel
    #   has no angelslim/compressor/qat/ (the source tree at tag v0.5.0 has no angelslim/compressor/qat/__init__.py,
    #   so setup.py's find_packages() left the whole subpackage out): ModuleNotFoundError: No module named
    #   'angelslim.compressor.qat'. There is no 0.5.0 sdist. 0.3.0 is the newest release whose wheel imports.
    #   0.3.0 declares transformers>=4.57.1 and its draft's _init_rope indexes rope_scaling["type"], which
    #   transformers 5 always fills with {"rope_theta", "rope_type"} (KeyError), so transformers 4.57.6 (the newest 4.x).
    # - then only what the import chain of angelslim.compressor.speculative (its __init__ pulls in angelslim/__init__,
    #   the quantization and data packages too), the online EAGLE-3 trainer (a transformers Trainer: accelerate) and
    #   the inference drafter needs, found by trial (import or run the fixture, ModuleNotFoundError, add; then remove
    #   each one not seen missing and rerun):
    #     triton: angelslim/compressor/quant/core/quant_func.py imports it at module level;
    #     threadpoolctl: compressor/quant/modules/gptq/gptq.py;  shortuuid: speculative/benchmark/pytorch;
    #     pillow: speculative/train/data/dataset_builder/online_dataset_builder.py;
    #     tiktoken (+ regex, requests): angelslim/models/llm/tiktoken_tokenizer.py (Kimi-K2);
    #     datasets 4.8.5 (+ pyarrow, pandas, python-dateutil, six, dill, multiprocess, xxhash, httpx): speculative/
    #       train/data/data_generation.py; 4.8.5 is the newest datasets that accepts huggingface_hub < 1;
    #     accelerate: transformers.TrainingArguments refuses to set up the Trainer without it.
    DIST=angelslim VERSION=0.3.0
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
    CHECK_FLAGS=(-I -W ignore)
    CHECK='
      assert version("torch").startswith(want_torch)
      import transformers
      transformers.TrainingArguments(output_dir="/nonexistent", use_cpu=True, report_to="none")  # needs accelerate
      import angelslim.compressor.speculative
      import angelslim.compressor.speculative.train.models.draft.llama_eagle3
      import angelslim.compressor.speculative.train.trainer.online_eagle3_trainer
      import angelslim.compressor.speculative.train.trainer.offline_eagle3_trainer
      import angelslim.compressor.speculative.train.models.target.target_model_wrapper
      import angelslim.compressor.speculative.inference.models.eagle3.eagle3_model
      import angelslim.compressor.speculative.inference.models.eagle3.draft.llama3_eagle3'
    FAIL="does not import AngelSlim's modules"
    HINT="$PY -I -c 'import angelslim.compressor.speculative.train.trainer.online_eagle3_trainer'";;

  eagle)
    # The EAGLE authors' own code (SafeAILab/EAGLE, the `eagle-llm` package on PyPI, newest 1.2.1), as a judge for
    # EAGLE v1/v2 drafts:
    #     VENV_DIR/bin/python -I eagle_fixture.py OUT_DIR --variant v1
    # - eagle-llm 1.2.1 (2024-04; PyPI also has 1.2.0 and 1.1.0) is the EAGLE-1/2 code: its eagle/model/cnets.py is
    #   the EAGLE v1/v2 draft (the GitHub repo later renamed it cnets1.py and put EAGLE-3 in cnets.py). The wheel
    #   has no cnets1.py, no EAGLE-3 draft and no traineagle3/: EAGLE-3 exists only on GitHub (setup.py there says
    #   3.0.0, never published), so this venv judges EAGLE v1/v2 drafts only.
    # - torch: eagle-llm declares plain `torch` (and its GitHub setup.py torch==2.0.1).
    # - eagle-llm==1.2.1 with --no-deps: it declares accelerate==0.21.0, fschat, gradio, openai, anthropic,
    #   sentencepiece, protobuf, wandb; the modules used here (eagle.model.{cnets,configs,ea_model,
    #   modeling_llama_kv,utils,...}) import none but transformers/huggingface_hub, and accelerate is what its
    #   trainer saves a checkpoint with (eagle/train/main.py:484 accelerator.save_state).
    # - then only what that import chain needs:
    #     transformers==4.46.3: their code is 4.x code (transformers 5 breaks it); 4.46.3 is the newest release
    #       of the 4.46 line their GitHub setup.py pins (4.46.2); it wants huggingface-hub<1 (0.36.2) and
    #       tokenizers<0.21 (0.20.3);
    #     requests (+ urllib3, idna, certifi, charset-normalizer): huggingface_hub 0.36 imports them
    #       (eagle.model.ea_model imports hf_hub_download);
    #     accelerate==0.21.0 (their pin) + psutil: the trainer's Accelerator.save_state.
    #   eagle/train/main.py itself cannot be imported (a module-level script: wandb.init, argparse, reads its data
    #   dir), so the fixture calls the same Accelerator.save_state it calls.
    DIST=eagle-llm VERSION=1.2.1
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
    CHECK_FLAGS=(-I)
    CHECK='
      assert version("torch") == want_torch + "+cpu"
      import eagle
      assert eagle.__file__.startswith(sys.prefix), eagle.__file__
      from eagle.model.cnets import Model
      from eagle.model.configs import EConfig
      from eagle.model.ea_model import EaModel
      from accelerate import Accelerator'
    FAIL="does not import eagle-llm's draft modules"
    HINT="$PY -I -c 'from eagle.model.cnets import Model; from eagle.model.ea_model import EaModel'";;

  dflash)
    # z-lab's own DFlash / DFlash2 draft classes (the `dflash` package on PyPI; 0.1.0 is its only release), as a
    # judge for z-lab block-diffusion drafts:
    #     VENV_DIR/bin/python -I zlab_dflash_fixture.py OUT_DIR --variant all
    # - dflash 0.1.0 has no trainer and no exporter: its drafts (dflash.model.DFlashDraftModel, a
    #   Qwen3PreTrainedModel) are saved and loaded with transformers' save_pretrained / from_pretrained.
    # - torch: its [local] extra pins torch==2.13.0 on Linux (= TORCH_VERSION, the local CPU wheel); Jinja2==3.1.6 in
    #   TORCH_DEPS is also that extra's pin.
    # - dflash==0.1.0 with --no-deps: it declares datasets==5.0.1 and requests==2.34.2, which only dflash.benchmark
    #   imports (dflash/__init__ loads it lazily, and dflash.model never does).
    # - then only what the import chain of dflash.model (+ transformers' save_pretrained / from_pretrained and
    #   safetensors) needs, found by trial (import and run the fixture, ModuleNotFoundError, add):
    #     transformers==5.15.0: the [local] extra's pin; it wants huggingface-hub>=1.5,<2 (1.33.0) and
    #       tokenizers>=0.22,<=0.23.0 (0.22.2);
    #     tqdm==4.70.0: dflash's own pin (a core dependency);
    #     httpx (+ httpcore, h11, idna, certifi): transformers.utils.hub and huggingface_hub import it at import.
    #   Not needed (so not installed): typer / click (the transformers and hf CLIs), hf-xet (downloads), anyio.
    DIST=dflash VERSION=0.1.0
    TORCH_DEPS=(
      filelock==4.3.2 fsspec==2026.9.0 Jinja2==3.1.6 MarkupSafe==3.0.4 mpmath==1.3.0 networkx==3.6.1 sympy==1.14.0
      typing_extensions==4.16.0
    )
    PKGS=(
      # transformers (dflash [local] pins 5.15.0) and what it and huggingface_hub import
      transformers==5.15.0 huggingface_hub==1.33.0 tokenizers==0.22.2 safetensors==0.8.0 numpy==2.4.6
      packaging==26.4 PyYAML==6.0.4 regex==2026.12.2
      # dflash's own pin
      tqdm==4.70.0
      # huggingface_hub / transformers.utils.hub
      httpx==0.29.0 httpcore==1.0.9 h11==0.16.0 idna==3.20 certifi==2026.10.19.post1
    )
    CHECK_FLAGS=(-I)
    CHECK='
      assert version("torch") == want_torch + "+cpu"
      import dflash
      assert dflash.__file__.startswith(sys.prefix), dflash.__file__
      from dflash.model import DFlashDraftModel, DFlash2DraftModel, extract_context_feature
      from transformers import Qwen3Config
      from safetensors.torch import save_file, load_file'
    FAIL="does not import z-lab's dflash.model"
    HINT="$PY -I -c 'from dflash.model import DFlashDraftModel, DFlash2DraftModel'";;

  *) echo "producer_env: unknown NAME '$NAME'; $USAGE" >&2; exit 2;;
esac
MSG="producer_env $NAME:"

check() {
  [ -x "$PY" ] || return 1
  env "${CHECK_ENV[@]}" "$PY" "${CHECK_FLAGS[@]}" - "$DIST" "$VERSION" "$TORCH_VERSION" "$CHECK" \
      "${TORCH_DEPS[@]}" "${PKGS[@]}" <<'EOF' >/dev/null 2>&1
import sys, textwrap
from importlib.metadata import version
dist, want, want_torch, check, *pkgs = sys.argv[1:]
assert version(dist) == want, dist
for p in pkgs:
    name, v = p.split("==")
    assert version(name) == v, p
import torch
assert not torch.cuda.is_available()
exec(textwrap.dedent(check))
EOF
}

start=$(date +%s)
if check; then
  echo "$MSG $VENV already has $DIST $VERSION on torch $TORCH_VERSION (CPU); nothing to do ($(( $(date +%s) - start ))s)"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
PIP=("$PY" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install "torch==$TORCH_VERSION" "${TORCH_DEPS[@]}"
"${PIP[@]}" install --no-deps "$DIST==$VERSION" "${PKGS[@]}"
"$PY" -I -c "import torch; assert not torch.cuda.is_available(), 'not the CPU torch'; print('$MSG torch', torch.__version__)"
if ! check; then
  echo "$MSG $VENV was built but $FAIL; run" >&2
  echo "  $HINT" >&2
  exit 1
fi
echo "$MSG $VENV ready: $DIST $VERSION (--no-deps) + ${#PKGS[@]} pinned packages, torch $TORCH_VERSION CPU ($(( $(date +%s) - start ))s)"
