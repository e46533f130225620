#!/usr/bin/env python
"""Load a Speculators-format eagle3 / peagle / dflash / dflash2 / dspark directory with vLLM's own code, on CPU, and report what it did.

Run with the python of the venv made by `tools/vllm_env.sh VENV_DIR`:

    VENV_DIR/bin/python tools/vllm_load.py CONVERTED_DIR [--verifier VERIFIER_DIR]
    VENV_DIR/bin/python tools/vllm_load.py DIR1 DIR2 ... [--verifier V1 --verifier V2 ...]

Several directories are loaded one after the other in one process (vLLM is imported once, which is most of
a load's time on CPU; each load builds and tears down its own one-process distributed world); the report is
then a JSON list, one report per directory in order, and the exit status the worst of theirs.

What it runs, all of it vLLM's code (vLLM 0.33.0, platform forced to CPU with VLLM_TARGET_DEVICE=cpu):

(a) config translation
    - `vllm.transformers_utils.config.maybe_override_with_speculators(DIR)`: what `vllm serve DIR` does
      (speculative config from the directory, verifier from `speculators_config.verifier.name_or_path`);
    - `EngineArgs(model=VERIFIER, speculative_config={"model": DIR, "method": M, "num_speculative_tokens": N})
      .create_engine_config()` with M = the directory's `speculators_model_type` ("eagle3"; "eagle3" plus
      parallel_drafting for peagle; "dflash"; "dflash" for dflash2 (base.py maps it); "dspark") and
      N = `proposal_methods[0].speculative_tokens`; its draft `hf_config` is the `SpeculatorsConfig` built by
      `vllm/transformers_utils/configs/speculators` (update_eagle3 / update_peagle / update_dflash / update_dflash2 /
      update_dspark) and is reported field by field. update_dflash2 runs update_dflash, sets architectures
      DFlash2DraftModel and copies conv_kernel_size / conv_group_size / selector_rank / selector_top_k into dflash_config
      (only when present; nothing else: z-lab's input_embedding_scale / output_multiplier / final_logit_softcapping are
      never transmitted, wherever the file puts them).
      dspark / dflash2: vLLM implements them only in Model Runner V2 (config/vllm.py
      `_get_v1_model_runner_unsupported_features`: "dspark speculative decoding", "DFlash candidate-head drafts"), and
      picks V1 where Triton is missing (this CPU venv), so the engine config is built with VLLM_USE_V2_MODEL_RUNNER=1
      (what a GPU with Triton gets by default; restored after the load) and the report says what vLLM would have done
      here without it.
(b) model construction: single-process gloo "distributed" world (world size 1, TP 1, PP 1), the current vLLM
    config set, the verifier built by `get_model` (real weights from --verifier, else dummy weights from a
    stand-in config), then the draft:
    - eagle3 / peagle: `DefaultModelLoader.load_model` with the config the EAGLE proposer uses
      (`EagleProposer._create_draft_vllm_config`, `get_draft_load_config`, model tag "eagle_head");
    - dflash: vLLM's own DFlash proposer object is constructed on CPU and its `load_model(verifier)` is called,
      so the draft vllm config, the load config, the model tag and the embedding / lm_head sharing are vLLM's:
      by default the Model Runner V2 `DFlashSpeculator` (v1/worker/gpu/spec_decode/dflash/: `load_dflash_model`,
      draft config = replace(attention_config.use_non_causal = dflash_has_any_non_causal(hf_config),
      backend = speculative_config.attention_backend), model tag "dflash_head"), which is what `vllm serve` uses on
      a GPU with Triton; with --dflash-runner v1 the V1 `DFlashProposer` (v1/spec_decode/dflash.py:
      `_create_draft_vllm_config`, model tag "eagle_head", `_maybe_share_embeddings` / `_maybe_share_lm_head`),
      which is what vLLM picks when Triton is missing (as on this CPU venv). Both build
      `DFlashQwen3ForCausalLM` (model_executor/models/qwen3_dflash.py) through `get_model`; the attention layers
      get vLLM's CPU_ATTN backend (it supports non-causal attention). The proposer's own checks run as in
      serving: V2 refuses `sample_from_anchor: true` and a mask token it cannot read; V1 ignores sample_from_anchor.
    - dspark: Model Runner V2's `DSparkSpeculator` (v1/worker/gpu/spec_decode/dspark/) is constructed on CPU and its
      `load_model(verifier)` is called: `load_dspark_model` (dspark/utils.py: the DFlash-style draft config with
      use_non_causal from the per-layer causality, model tag "dspark_head", `maybe_share_target_embed`, the verifier's
      lm_head unless the draft ships a different one) builds `Qwen3DSparkForCausalLM` (model_executor/models/
      qwen3_dspark.py: the DFlashQwen3Model backbone + `markov_head.markov_w1` [V, r] / `markov_w2` [draft V, r] +
      the fp32 `confidence_head.proj` when enable_confidence_head) through `get_model`.
    - dflash2: Model Runner V2's own choice of speculator, `init_speculator` (v1/worker/gpu/spec_decode/__init__.py:
      `DFlash2Speculator` for architectures DFlash2DraftModel), is constructed on CPU and its `load_model(verifier)` is
      called: `load_dflash_model` (inherited from DFlashSpeculator: the same draft config, model tag "dflash_head" and
      sharing as dflash V2) builds `DFlash2Qwen3ForCausalLM` (model_executor/models/qwen3_dflash2.py: the DFlash backbone
      with, per layer, `attention_conv` / `mlp_conv` (`DFlashGroupedConv`: `base_kernel` [2, taps, H] and
      `kernel_projection` [2 * taps * H / group, H]; block length 1 + N), and `model.candidate_selector`
      (`predecessor_codebook` / `successor_codebook` bare [V, rank] parameters, `hidden_projection` [rank, H]; own model
      tag "dflash2_candidate_selector")) through `get_model`.
(c) the loader is `DefaultModelLoader` with two hooks and nothing else changed: right after the model is
    created every parameter and persistent buffer is filled with a sentinel (NaN; int64 min for integer
    tensors), and every parameter's `weight_loader` is wrapped to record which checkpoint tensor it received.
    The weights then go through vLLM's own file iterator and the draft class's own `load_weights`:
    `Eagle3LlamaForCausalLM.load_weights` (its `midlayer.`->`layers.0.` mapping, q/k/v and gate/up stacking,
    `d2t`->`draft_id_to_target_id`) or `DFlashQwen3ForCausalLM.load_weights` (`model.` prefix on every name but
    `lm_head*` / `d2t`, `t2d` dropped, `mask_hidden` asserted absent, q/k/v and gate/up stacking, an optional
    `mask_embedding.pt` next to the weights) or `Qwen3DSparkForCausalLM.load_weights` (same prefixing, `t2d` dropped,
    `d2t` -> `draft_id_to_target_id`; `mask_embedding`, and embed_tokens / lm_head / d2t / confidence_head when the file
    has none of them, mapped to nothing; the confidence head is deleted from the model, silently, when the config
    disables it or the file has none of its tensors); dflash2 uses DFlash's `load_weights` unchanged (AutoWeightsLoader:
    a name with no parameter raises, a parameter with no tensor is left as it is). For dflash / dflash2 / dspark the hook
    sits in `get_model_loader`, which is
    what the proposer's `get_model` calls: it returns this loader only where vLLM itself chose `DefaultModelLoader`.
(d) report: tensors not consumed, parameters still (partly) holding the sentinel, values that differ from
    the file (after undoing the q/k/v and gate/up stacking), d2t, and the embedding / lm_head sharing decided
    by vLLM's own code against the verifier (eagle3: `EagleProposer._maybe_share_embeddings` /
    `_maybe_share_lm_head`; dflash: the proposer's `load_model`, checked afterwards by module identity).
    For dflash also: the `dflash_config` vLLM derived (mask_token_id, target_layer_ids, causal,
    sample_from_anchor), each layer's causality / sliding window / attention backend, the fields vLLM defaulted,
    and cheap functional checks (fc, embedding, logits, the context K/V path through vLLM's modules). Not run:
    the query pass (it needs attention metadata and a KV cache) and `precompute_and_store_context_kv` itself
    (its fused `torch.ops._C` kernels are not in this CUDA wheel run on CPU; the report says so).
    `model.mask_embedding` stays unfilled without a `mask_embedding.pt` and is then never read by vLLM's forward:
    it is listed apart, not as a failure.
    For dspark also: the Markov / confidence fields vLLM put on the draft config (markov_rank, enable_confidence_head,
    confidence_head_with_markov, sample_from_anchor, mask_token_id, target_layer_ids = aux - 1, ...), the fields it
    defaulted, each layer's causality, the query tokens per request (N with sample_from_anchor, else 1 + N) against
    block_size, and functional checks with the loaded modules against plain torch on the file's tensors: the Markov
    embedding / bias `markov_w2(markov_w1[prev])` (through vLLM's LogitsProcessor), the confidence
    `sigmoid(proj([h; markov_w1[prev]]))`, and vLLM's own sequential Markov sampling loop
    (`DSparkSpeculator._sample_sequential`, greedy, on a stand-in backbone output) against the same loop in plain
    torch with the verifier's lm_head. The backbone forward is not run (attention metadata + a KV cache; the
    context K/V precompute needs `torch.ops._C`, as for dflash). embed_tokens / lm_head are expected to stay unfilled
    (shared from the verifier) and `model.mask_embedding` is never loaded (DSpark masks via the vocabulary row).
    For dflash2 also: the translated fields (method, num_speculative_tokens, the four conv / selector fields, mask id,
    target_layer_ids, causal and sample_from_anchor, the causality of each layer), the block length the convolutions were
    built with (1 + N, never block_size), the scales update_dflash2 does not transmit (what the file says where it says
    it, and what vLLM's built modules use: `input_embedding_scale`, the candidate LogitsProcessor's scale / soft cap),
    the conv / selector parameters against the file's bytes, and functional checks with vLLM's module instances against
    plain torch on the file's tensors: each `DFlashGroupedConv.prepare` / `finish` (on CPU vLLM's own torch path
    `_grouped_conv`) on random input, out[pos] = sum_{t < taps, pos >= t} (base[side, t] + delta[t, group]) * x[pos - t]
    inside each block of 1 + N rows with delta = kernel_projection(prepare's input) viewed [rows, 2, taps, groups]; the
    candidates and scores (`compute_candidates`, `DFlash2Speculator._score_candidates` with the anchors where it reads
    them) on random head hidden states, unary = top-k of h @ lm_head.T (the verifier's, from its file) and score =
    unary + sum_r pred[prev][r] * hidden_projection(h)[r] * succ[cand][r]; and the greedy walk from the anchor. Not run:
    the Triton kernels (the convolution's CUDA kernel, the walk `_selector_walk_kernel` and `_cache_draft_logits_kernel`:
    the walk's indexing is applied to vLLM's scores in torch instead, temperature > 0 not checked), the query pass and
    the context K/V precompute (as for dflash); the report lists them. embed_tokens / lm_head / `model.mask_embedding`
    are expected to stay unfilled, as for dflash.

Exit status 0 only when every checkpoint tensor was consumed (vLLM skips `t2d` by design; it is checked
against `d2t` instead), every parameter was filled (or replaced by the verifier's at the sharing step),
every loaded value equals the file, the cheap functional checks pass, and no field that changes the draft's
computation was silently defaulted by vLLM (eagle3: norm_before_residual; dflash: sliding_window_non_causal,
sample_from_anchor, the RoPE theta; dspark: sample_from_anchor, the RoPE theta) or is served differently from what the
file says (dflash: a directory written by upstream speculators (architectures DFlashDraftModel), whose full-attention
layers attend both ways, with `sliding_window_non_causal` not true: vLLM serves them causal; more query tokens per
request than `block_size`; aux layer ids the verifier does not have; dspark: a markov_head_type other than vanilla
(vLLM builds only the vanilla head), a layer whose causality differs from upstream speculators' DSparkDraftModel, more
query tokens per request than `block_size`, aux layer ids the verifier does not have; dflash2: as dflash (upstream
speculators' architectures DFlash2DraftModel included), plus a scale of z-lab's in the file that vLLM does not use,
selector_top_k outside 1..V, draft_vocab_size other than the verifier's). 1 otherwise (including vLLM's loader raising:
dflash2 without conv_kernel_size / conv_group_size / selector_rank is a KeyError at model construction);
2 when vLLM refused the directory's config (translation, engine config, or the DFlash proposer's own checks,
e.g. a missing mask_token_id or sample_from_anchor true; dspark: update_dspark's KeyError without
aux_hidden_state_layer_ids, the DSparkSpeculator's ValueError without a mask token; dflash2: the DFlash2Speculator's
KeyError without selector_top_k, DFlashSpeculator's ValueError for sample_from_anchor true) or something unexpected failed.
The JSON report goes to stdout; vLLM's logs go to stderr.
"""
import argparse, importlib.util, json, logging, os, sys, tempfile, time
from pathlib import Path

# Must be set before vllm is imported: CPU platform, logs on stderr, never reach a hub.
os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("VLLM_NO_USAGE_STATS", "1")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

# The eagle3 fields vLLM reads besides transformer_layer_config, with the default it applies when absent
# (vllm/transformers_utils/configs/speculators/algos.py, update_eagle3, and llama_eagle3.py).
EAGLE3_DEFAULTS = {"norm_before_residual": True, "norm_before_fc": False, "fc_norm": False, "norm_output": False}
# peagle (update_peagle): norm_before_residual defaults to False; fc_norm / norm_output are not copied (read only from
# transformer_layer_config); mask_token_id is required and becomes `pard_token`, the token of the parallel slots.
PEAGLE_DEFAULTS = {"norm_before_residual": False, "norm_before_fc": False}
# dflash (update_dflash, DFlashQwen3ForCausalLM): what vLLM reads from the top level when absent, and what it then uses.
# sliding_window_non_causal -> dflash_config.causal = not value (an all-layer override); sample_from_anchor -> dflash_config;
# mask_token_id and aux_hidden_state_layer_ids are required (KeyError). block_size is never read (N = speculative_tokens).
DFLASH_DEFAULTS = {"sliding_window_non_causal": True, "sample_from_anchor": False,
                   "draft_vocab_size": "vocab_size", "target_hidden_size": "hidden_size"}   # the first two defaulted: a problem
# transformer_layer_config fields DFlashQwen3ForCausalLM reads with a default (a wrong one shows as a shape error at load,
# or is the Qwen3 standard: reported, not a problem)
DFLASH_LAYER_DEFAULTS = {"head_dim": "hidden_size // num_attention_heads", "attention_bias": False, "is_neox_style": True,
                         "use_aux_hidden_state": True, "logit_scale": 1.0}
# dspark (update_dspark, Qwen3DSparkForCausalLM): copied to the top level only when present; what vLLM then uses.
# sample_from_anchor: False (the 1 + N fill-in layout; upstream speculators' DSparkSpeculatorConfig defaults to True).
# enable_confidence_head / confidence_head_with_markov: False (speculators 0.9: True / True). aux_hidden_state_layer_ids is
# required (KeyError); markov_rank has no default (AttributeError when the model is built); mask_token_id is required by
# the DSparkSpeculator (ValueError). sliding_window_non_causal is not read: causality comes from layer_types / is_causal.
DSPARK_DEFAULTS = {"sample_from_anchor": False, "enable_confidence_head": False, "confidence_head_with_markov": False,
                   "draft_vocab_size": "vocab_size", "target_hidden_size": "hidden_size", "use_aux_hidden_state": True}
# dflash2 (update_dflash2: update_dflash, then these four copied into dflash_config only when present). The DFlash2Speculator
# (selector_top_k) and DFlash2Qwen3ForCausalLM (all four) index them: KeyError without one. block_size is never read: the
# convolutions' block is 1 + num_speculative_tokens.
DFLASH2_KEYS = ("conv_kernel_size", "conv_group_size", "selector_rank", "selector_top_k")
# what DFlash2Qwen3Model / DFlash2Qwen3ForCausalLM read from dflash_config with a default; update_dflash2 builds dflash_config
# afresh and never copies them, so vLLM always uses these (z-lab's config carries them in its own dflash_config)
DFLASH2_NOT_TRANSMITTED = {"input_embedding_scale": 1.0, "output_multiplier": 1.0, "final_logit_softcapping": None}
SENTINEL_INT = -(2**63)


def _account_unfilled(ld, loader, shared, unused, problems):
    """Sort what the sentinel still marks: parameters vLLM replaces with the verifier's (`shared`), ones its forward never
    reads (`unused`), and the rest, which are problems."""
    ld["unfilled_but_unused_by_vllm_forward"] = sorted(unused & set(loader.unfilled))
    ld["unfilled_parameters"] = {k: v for k, v in loader.unfilled.items() if k not in shared and k not in unused}
    ld["shared_from_verifier"] = sorted(shared & set(loader.unfilled)) + sorted(shared - set(loader.unfilled))
    if ld["unfilled_parameters"]:
        problems.append(f"parameters vLLM left unfilled: {sorted(ld['unfilled_parameters'])}")


# helpers shared with the other side-venv tools; loaded by path, since `python -I` leaves this directory off sys.path
_spec = importlib.util.spec_from_file_location("_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
_Collect, _err, _jsonable = _common.Collect, _common.err, _common.jsonable


def _stand_in_verifier(cfg: dict, tmp: Path) -> Path:
    "A config-only Llama verifier shaped as the draft says (hidden = target_hidden_size, vocab = V), for when none is given."
    tl = cfg["transformer_layer_config"]
    ids = cfg.get("eagle_aux_hidden_state_layer_ids") or cfg.get("aux_hidden_state_layer_ids") or [2]   # eagle3 / dflash
    H = cfg.get("target_hidden_size") or tl["hidden_size"]
    nh = tl.get("num_attention_heads", 4)
    vc = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
          "intermediate_size": tl.get("intermediate_size", 4 * H), "num_attention_heads": nh,
          "num_key_value_heads": tl.get("num_key_value_heads", nh), "num_hidden_layers": max(max(ids) + 1, 4),
          "vocab_size": tl["vocab_size"], "max_position_embeddings": tl.get("max_position_embeddings", 2048),
          "rms_norm_eps": tl.get("rms_norm_eps", 1e-5), "tie_word_embeddings": False, "torch_dtype": "float32"}
    d = tmp / "stand_in_verifier"; d.mkdir()
    (d / "config.json").write_text(json.dumps(vc, indent=2))
    return d


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("converted_dir", nargs="+", help="Speculators-format eagle3 / peagle / dflash / dflash2 / dspark directories (config.json + *.safetensors), "
                    "loaded one after the other in this process (vLLM is imported once)")
    ap.add_argument("--verifier", action="append", help="local verifier directory: once for all the directories, or once for each, "
                    "in order (default: speculators_config.verifier.name_or_path when it is a local directory or in the local "
                    "Hugging Face cache, else a config-only stand-in)")
    ap.add_argument("--dtype", default="float32", help="model dtype vLLM builds with (default float32: exact comparisons)")
    ap.add_argument("--without-method", action="store_true",
                    help="also show what speculative_config={'model': DIR} (no method) resolves to")
    ap.add_argument("--dflash-runner", choices=("v2", "v1"), default="v2",
                    help="dflash only: which vLLM proposer builds the draft: v2 = Model Runner V2's DFlashSpeculator (what "
                    "`vllm serve` uses on a GPU with Triton; default), v1 = the V1 DFlashProposer (vLLM's fallback without Triton). "
                    "dflash2 / dspark directories always use Model Runner V2's DFlash2Speculator / DSparkSpeculator (V1 has neither)")
    a = ap.parse_args(argv)
    vers = a.verifier or [None]
    if len(vers) not in (1, len(a.converted_dir)):
        ap.error(f"--verifier given {len(vers)} times for {len(a.converted_dir)} directories: give it once, or once for each")
    reports, rc = [], 0
    for d, v in zip(a.converted_dir, vers * len(a.converted_dir) if len(vers) == 1 else vers):
        rep = {}
        v2_env = os.environ.get("VLLM_USE_V2_MODEL_RUNNER")   # a dflash2 / dspark load sets it; the next directory gets it back
        try:
            code = _main(argparse.Namespace(**{**vars(a), "converted_dir": d, "verifier": v}), rep)
        except BaseException as e:   # anything vLLM raised outside the steps that report their own errors
            import traceback
            rep.setdefault("problems", []).append(f"unexpected error: {_err(e)}")
            rep["ok"] = False
            rep["traceback_tail"] = traceback.format_exc().splitlines()[-12:]
            code = 2
        finally:
            _teardown()
            if v2_env is None: os.environ.pop("VLLM_USE_V2_MODEL_RUNNER", None)
            else: os.environ["VLLM_USE_V2_MODEL_RUNNER"] = v2_env
        reports.append(rep); rc = max(rc, code)
    # one directory: its report; several: the list of reports, in order (exit status: the worst)
    print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
    return rc


_PATCHES = []   # changes to torch made once per process, listed in every report


def _teardown():
    "Leave no distributed world behind a load (one that stopped early included), so that the next load can start its own."
    if "vllm.distributed" not in sys.modules: return
    from vllm.distributed import destroy_distributed_environment, destroy_model_parallel
    destroy_model_parallel(); destroy_distributed_environment()


def _main(a, rep) -> int:

    t0 = time.perf_counter(); timings = {}
    def lap(name):
        nonlocal t0
        t = time.perf_counter(); timings[name] = round(t - t0, 2); t0 = t

    draft_dir = Path(a.converted_dir).resolve()
    raw = json.loads((draft_dir / "config.json").read_text())
    rep.update({"converted_dir": str(draft_dir), "problems": []})
    problems = rep["problems"]

    import torch
    import vllm
    torch.manual_seed(0)  # the functional checks' random inputs: the same report for the same directory, whatever ran before
    coll = _Collect(); vlog = logging.getLogger("vllm")
    vlog.handlers[:] = [h for h in vlog.handlers if not isinstance(h, _Collect)] + [coll]
    rep["vllm_version"] = vllm.__version__
    rep["torch_version"] = torch.__version__
    from vllm.platforms import current_platform
    rep["vllm_platform"] = type(current_platform).__name__
    # vLLM 0.33.0 pins torch 2.14.0; with the CPU torch 2.13 build, torch.accelerator.empty_cache() raises
    # "Cannot access accelerator device when none is available" when there is no accelerator (base_loader.load_model
    # calls it after loading). It only frees cached accelerator memory: make it a no-op then, and say so.
    try:
        torch.accelerator.empty_cache()
    except RuntimeError as e:
        torch.accelerator.empty_cache = lambda: None
        _PATCHES.append(f"torch.accelerator.empty_cache -> no-op (torch {torch.__version__} raised {e!s}; "
                              "vLLM calls it only to free cached accelerator memory)")
    rep["patches"] = list(_PATCHES)
    lap("import_vllm_s")

    # ---------------------------------------------------------------- (a) config translation
    from vllm.transformers_utils.config import maybe_override_with_speculators
    from vllm.transformers_utils.configs.speculators import SpeculatorsConfig
    conf = rep["config"] = {}
    try:
        m, tok, spec = maybe_override_with_speculators(model=str(draft_dir), tokenizer=None, trust_remote_code=False)
        conf["vllm_serve_dir"] = {"ok": True, "verifier_model": m, "speculative_config": _jsonable(spec)}
    except Exception as e:
        conf["vllm_serve_dir"] = {"ok": False, "error": _err(e)}
        rep.setdefault("notes", []).append(f"`vllm serve DIR` refuses the directory (serve the verifier with "
                                           f"--speculative-config instead): {_err(e)}")
    try:
        spec_from_dir = SpeculatorsConfig.extract_vllm_speculative_config(raw)
    except Exception as e:
        rep["ok"] = False; problems.append(f"vLLM rejects the speculators config: {_err(e)}")
        return 2
    try:   # the dict vLLM builds its draft PreTrainedConfig from (transformer_layer_config + the eagle3 fields)
        import copy
        conf["speculators_translation"] = _jsonable(
            SpeculatorsConfig.extract_transformers_pre_trained_config(copy.deepcopy(raw)))
    except Exception as e:
        conf["speculators_translation"] = {"error": _err(e)}
    peagle = raw.get("speculators_model_type") == "peagle"
    dflash = raw.get("speculators_model_type") == "dflash"
    dflash2 = raw.get("speculators_model_type") == "dflash2"
    dspark = raw.get("speculators_model_type") == "dspark"
    if dflash:
        _dflash_config_checks(raw, conf, problems)
    elif dflash2:
        _dflash2_config_checks(raw, conf, problems)
    elif dspark:
        _dspark_config_checks(raw, conf, problems)
    else:
        missing = {k: v for k, v in (PEAGLE_DEFAULTS if peagle else EAGLE3_DEFAULTS).items() if k not in raw}
        conf["fields_missing_defaulted_by_vllm"] = missing
        if "norm_before_residual" in missing and not peagle:
            problems.append("config.json has no norm_before_residual: vLLM reads it as True (the EAGLE-3 default is False)")
        if not raw.get("eagle_aux_hidden_state_layer_ids"):
            conf["aux_ids_missing"] = True
            problems.append("config.json has no eagle_aux_hidden_state_layer_ids: vLLM falls back to the verifier's default (2, N//2, N-3)")

    # verifier: the model vLLM is served with
    tmp = Path(tempfile.mkdtemp(prefix="vllm_load_"))
    ver_src = "--verifier"
    verifier = a.verifier
    if verifier is None:
        nop = raw.get("speculators_config", {}).get("verifier", {}).get("name_or_path")
        if nop and Path(nop).is_dir():
            verifier, ver_src = nop, "name_or_path (local directory)"
        else:
            try:
                from huggingface_hub import snapshot_download
                verifier = snapshot_download(nop, local_files_only=True, allow_patterns=["*.json", "*.safetensors"])
                ver_src = "name_or_path (local Hugging Face cache)"
            except Exception:
                verifier, ver_src = str(_stand_in_verifier(raw, tmp)), "stand-in config built from the draft config (dummy weights)"
    verifier = str(Path(verifier).resolve())
    has_weights = any(Path(verifier).glob("*.safetensors"))
    rep["verifier"] = {"path": verifier, "source": ver_src, "weights": "real" if has_weights else "dummy"}

    from vllm.engine.arg_utils import EngineArgs
    if dspark or dflash2:   # only Model Runner V2 has DSpark / DFlash2; vLLM picks V1 without Triton (main() restores the variable)
        os.environ.setdefault("VLLM_USE_V2_MODEL_RUNNER", "1")
    spec_cfg = {"model": str(draft_dir), "method": spec_from_dir.get("method", "eagle3"), "num_speculative_tokens": spec_from_dir["num_speculative_tokens"],
                **({"parallel_drafting": True} if spec_from_dir.get("parallel_drafting") else {})}  # peagle: eagle3 with parallel drafting; dflash2: "dflash"
    try:
        vc = EngineArgs(model=verifier, speculative_config=spec_cfg, dtype=a.dtype, enforce_eager=True,
                        skip_tokenizer_init=True, max_model_len=128, max_num_seqs=1).create_engine_config()
    except Exception as e:
        rep["ok"] = False; problems.append(f"vLLM could not build its engine config: {_err(e)}")
        rep["vllm_warnings"] = coll.records; return 2
    sc = vc.speculative_config
    hf = sc.draft_model_config.hf_config
    conf["speculative_config"] = {"method": sc.method, "num_speculative_tokens": sc.num_speculative_tokens,
                                  "draft_architectures": sc.draft_model_config.architectures,
                                  "hf_config_class": type(hf).__name__, "parallel_drafting": getattr(sc, "parallel_drafting", None)}
    if peagle:   # the parallel slots' token: mask_token_id, as vLLM's config carries it
        conf["pard_token"] = _jsonable(getattr(hf, "pard_token", None))
        if conf["pard_token"] != raw.get("mask_token_id") or conf["pard_token"] is None:
            problems.append(f"vLLM's pard_token is {conf['pard_token']!r}, config.json's mask_token_id {raw.get('mask_token_id')!r}")
        if not getattr(sc, "parallel_drafting", False): problems.append("vLLM does not draft this peagle directory in parallel")
    if dflash:
        _dflash_translation(raw, vc, sc, hf, conf, problems)
    elif dflash2:
        _dflash2_translation(raw, vc, sc, hf, conf, problems, rep)
    elif dspark:
        _dspark_translation(raw, vc, sc, hf, conf, problems, rep)
    keys = ("architectures", "model_type", "hidden_size", "target_hidden_size", "intermediate_size", "num_hidden_layers",
            "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size", "draft_vocab_size",
            "norm_before_residual", "norm_before_fc", "fc_norm", "norm_output", "eagle_aux_hidden_state_layer_ids",
            "num_aux_hidden_states", "eagle_config", "rms_norm_eps", "rope_parameters", "max_position_embeddings",
            "tie_word_embeddings", "attention_bias")
    if dflash or dflash2:   # the eagle3-only fields are not read for dflash
        keys = tuple(k for k in keys if k not in ("norm_before_residual", "norm_before_fc", "fc_norm", "norm_output", "num_aux_hidden_states"))
        keys += ("dflash_config", "layer_types", "sliding_window", "is_causal", "use_aux_hidden_state", "is_neox_style",
                 "logit_scale", "hidden_act", "mask_token_id")
    elif dspark:   # update_dspark's top-level fields (no dflash_config)
        keys = tuple(k for k in keys if k not in ("norm_before_residual", "norm_before_fc", "fc_norm", "norm_output", "num_aux_hidden_states"))
        keys += ("target_layer_ids", "mask_token_id", "markov_rank", "markov_head_type", "block_size", "enable_confidence_head",
                 "confidence_head_with_markov", "sample_from_anchor", "dspark_bonus_anchor", "use_aux_hidden_state",
                 "dflash_config", "layer_types", "sliding_window", "is_causal", "is_neox_style", "logit_scale", "hidden_act")
    conf["draft_hf_config"] = {k: _jsonable(getattr(hf, k, None)) for k in keys}
    # which aux layers the verifier will emit (GPUModelRunner._get_eagle3_aux_layers_from_config, else the model default;
    # dflash with Model Runner V2, dflash2 and dspark: eagle3_utils.get_eagle3_aux_layers_from_config, what DFlashSpeculator /
    # DFlash2Speculator / DSparkSpeculator and the fc size use)
    try:
        from types import SimpleNamespace
        if (dflash and a.dflash_runner == "v2") or dflash2 or dspark:
            from vllm.v1.worker.gpu.spec_decode.eagle.eagle3_utils import get_eagle3_aux_layers_from_config
            conf["aux_layers_from_draft_config"] = _jsonable(get_eagle3_aux_layers_from_config(sc))
        else:
            from vllm.v1.worker.gpu_model_runner import GPUModelRunner
            conf["aux_layers_from_draft_config"] = _jsonable(
                GPUModelRunner._get_eagle3_aux_layers_from_config(SimpleNamespace(speculative_config=sc)))
    except Exception as e:
        conf["aux_layers_from_draft_config"] = f"could not ask GPUModelRunner: {_err(e)}"
    if dflash or dflash2 or dspark:   # the verifier captures aux id L = the residual stream entering layer L, for L in 0..num_hidden_layers
        nl = vc.model_config.get_total_num_hidden_layers()
        aux = conf["aux_layers_from_draft_config"]
        bad = [i for i in aux if not 0 <= i <= nl] if isinstance(aux, list) else []
        if bad:
            problems.append(f"aux layer ids {bad} are outside the verifier's 0..{nl}: it never emits them (fc then gets fewer "
                            "features than it was built for: ValueError at the first step)")
    if a.without_method:
        try:
            vc2 = EngineArgs(model=verifier, speculative_config={"model": str(draft_dir), "num_speculative_tokens": 3},
                             dtype=a.dtype, enforce_eager=True, skip_tokenizer_init=True, max_model_len=128).create_engine_config()
            conf["without_method"] = {"method": vc2.speculative_config.method,
                                      "draft_architectures": vc2.speculative_config.draft_model_config.architectures}
        except Exception as e:
            conf["without_method"] = {"error": _err(e)}
    lap("config_s")

    # ---------------------------------------------------------------- (b) build, (c) load
    from vllm.config import set_current_vllm_config
    from vllm.distributed import init_distributed_environment, initialize_model_parallel
    from vllm.model_executor.model_loader import get_model, DefaultModelLoader
    from vllm.model_executor.model_loader.utils import get_draft_load_config
    from vllm.model_executor.model_loader.weight_utils import default_weight_loader
    from vllm.v1.spec_decode.eagle import EagleProposer
    from vllm.compilation.backends import set_model_tag
    from types import SimpleNamespace

    class SentinelLoader(DefaultModelLoader):
        "vLLM's DefaultModelLoader; adds only the sentinel fill, the weight_loader recording and the post-load checks."
        def create_model(self, vllm_config, model_config, prefix=""):
            model = super().create_model(vllm_config=vllm_config, model_config=model_config, prefix=prefix)
            self.filled, self.unwrapped, self.received = [], [], []   # received: (param, file tensor name, shard args)
            self.non_persistent = []
            persistent = set(model.state_dict().keys())
            params = {n for n, _ in model.named_parameters()}
            # buffers keep their init value to restore if the checkpoint does not set them (e.g. the attention
            # layers' kv-cache scales _k_scale/_v_scale/_q_scale/_prob_scale, 1.0 unless the kv cache is quantized)
            self.buffer_init = {n: b.detach().clone() for n, b in model.named_buffers() if n in persistent and n not in params}
            with torch.no_grad():
                for n, t in list(model.named_parameters()) + list(model.named_buffers()):
                    if n not in persistent and n != "mask_hidden":   # peagle's mask_hidden: a non-persistent buffer its load_weights copies into
                        self.non_persistent.append(n); continue   # computed at init (e.g. rotary cos/sin), never loaded
                    if t.is_floating_point(): t.fill_(float("nan"))
                    elif t.dtype != torch.bool: t.fill_(SENTINEL_INT if t.dtype == torch.int64 else torch.iinfo(t.dtype).min)
                    self.filled.append(n)
            for n, p in model.named_parameters():
                orig = getattr(p, "weight_loader", None)
                def wrapped(param, loaded, *args, _orig=orig, _n=n, **kw):
                    self.received.append((_n, self.names.get(id(loaded)), args[0] if args else kw.get("loaded_shard_id", getattr(loaded, "shard_id", None))))
                    return (_orig or default_weight_loader)(param, loaded, *args, **kw)
                try: p.weight_loader = wrapped
                except Exception: self.unwrapped.append(n)
            return model

        def get_all_weights(self, model_config, model):
            self.names, self.file = {}, {}
            for name, t in super().get_all_weights(model_config, model):
                self.names[id(t)] = name; self.file[name] = t   # keep t alive so ids stay unique
                yield name, t

        def load_weights(self, model, model_config):
            super().load_weights(model, model_config)
            self.check(model)   # before process_weights_after_loading may repack anything

        def check(self, model):
            sd = dict(model.named_parameters()); sd.update(dict(model.named_buffers()))
            consumed = {f for _, f, _ in self.received if f is not None}
            if "mask_hidden" in self.file and "mask_hidden" in sd:   # copied by load_weights itself (no weight_loader): compare the values
                mh = sd["mask_hidden"].detach()
                if torch.equal(mh.float(), self.file["mask_hidden"].float().reshape(mh.shape)): consumed.add("mask_hidden")
            self.unconsumed = sorted(set(self.file) - consumed)
            self.unfilled = {}
            # parameters load_weights took out of the model (dspark: the confidence head when the config disables it or
            # the file has none of its tensors)
            self.removed = [n for n in self.filled if n not in sd]
            for n in self.filled:
                if n in self.removed: continue
                t = sd[n].detach()
                bad = torch.isnan(t) if t.is_floating_point() else (t == SENTINEL_INT) if t.dtype == torch.int64 else None
                if bad is not None and bool(bad.any()):
                    self.unfilled[n] = {"shape": list(t.shape), "sentinel_elements": int(bad.sum()), "of": t.numel()}
            self.buffers_at_init = {}
            with torch.no_grad():
                for n in [n for n in self.unfilled if n in self.buffer_init]:
                    init = self.buffer_init[n]; sd[n].copy_(init); del self.unfilled[n]
                    self.buffers_at_init[n] = init.tolist() if init.numel() <= 4 else list(init.shape)
            # the loaded values, against the file, undoing the stacking
            order = {"q": 0, "k": 1, "v": 2, 0: 0, 1: 1}
            by_param = {}
            for p, f, s in self.received: by_param.setdefault(p, []).append((order.get(s, 0) if s is not None else 0, f))
            self.mismatch, self.where, self.padded = {}, {}, {}
            self.not_from_file = []   # parameters whose weight_loader got a tensor not read from the safetensors (dflash: mask_embedding.pt)
            for p, parts in by_param.items():
                files = [f for _, f in sorted(parts, key=lambda x: x[0])]
                if None in files:
                    self.not_from_file.append(p); continue
                self.where[p] = files
                exp = torch.cat([self.file[f].to(sd[p].dtype) for f in files], 0) if len(files) > 1 else self.file[files[0]].to(sd[p].dtype)
                got = sd[p].detach()
                pad = None
                if got.dim() == exp.dim() >= 1 and got.shape[0] > exp.shape[0] and got.shape[1:] == exp.shape[1:]:
                    # vocab-parallel embeddings / heads pad the vocabulary (to a multiple of 64); the loader zeroes the pad
                    pad, got = got[exp.shape[0]:], got[:exp.shape[0]]
                    self.padded[p] = {"rows": exp.shape[0], "padded_to": exp.shape[0] + pad.shape[0],
                                      "padding_zero": bool((pad == 0).all())}
                if got.shape != exp.shape or not torch.equal(got, exp) or (pad is not None and not bool((pad == 0).all())):
                    self.mismatch[p] = {"files": files, "shape": list(sd[p].shape), "expected_shape": list(exp.shape)}

    dist_file = tmp / "dist_init"
    with set_current_vllm_config(vc):
        init_distributed_environment(world_size=1, rank=0, local_rank=0,
                                     distributed_init_method=f"file://{dist_file}", backend="gloo")
        initialize_model_parallel(1, 1)
        lap("distributed_init_s")
        from dataclasses import replace as _replace
        target = get_model(vllm_config=vc, load_config=None if has_weights else _replace(vc.load_config, load_format="dummy"))
        lap("verifier_load_s")
        if dflash:
            return _dflash_load(a, rep, vc, sc, hf, raw, target, SentinelLoader, coll, timings, lap, tmp)
        if dflash2:
            return _dflash2_load(a, rep, vc, sc, hf, raw, target, SentinelLoader, coll, timings, lap, tmp)
        if dspark:
            return _dspark_load(a, rep, vc, sc, hf, raw, target, SentinelLoader, coll, timings, lap, tmp)
        draft_vc = EagleProposer._create_draft_vllm_config(SimpleNamespace(speculative_config=sc, vllm_config=vc))
        loader = SentinelLoader(get_draft_load_config(draft_vc))
        try:
            with set_model_tag("eagle_head"):
                draft = loader.load_model(vllm_config=draft_vc, model_config=sc.draft_model_config)
        except Exception as e:
            rep["ok"] = False
            problems.append(f"vLLM's loader raised: {_err(e)}")
            rep["load"] = {"error": _err(e), "tensors_in_file": sorted(getattr(loader, "file", {}))}
            rep["vllm_warnings"] = coll.records; rep["timings"] = timings
            return 1
        lap("draft_build_and_load_s")
        aux = conf.get("aux_layers_from_draft_config")
        if not isinstance(aux, list):
            aux = list(target.get_eagle3_default_aux_hidden_state_layers())
            conf["aux_layers_verifier_default_used"] = aux
        # the number of aux states vLLM built fc for (Eagle3LlamaForCausalLM: num_aux_hidden_states; Eagle3Qwen3ForCausalLM: num_aux_layers)
        k = getattr(draft.model, "num_aux_hidden_states", None) or getattr(draft.model, "num_aux_layers", None)
        conf["aux_states_emitted_vs_fc_expects"] = [len(aux), k]
        if k is not None and len(aux) != k:
            problems.append(f"the verifier will emit {len(aux)} aux hidden states {aux} but vLLM built fc for {k} "
                            "(num_aux_hidden_states in transformer_layer_config; default 3): shape error at the first step")

        # ------------------------------------------------------------ (d) report
        ld = rep["load"] = {"model_class": type(draft).__name__,
                            "tensors_in_file": {n: list(t.shape) for n, t in loader.file.items()},
                            "tensor_to_parameter": {p: f for p, f in sorted(loader.where.items())},
                            "sentinel_filled": len(loader.filled),
                            "non_persistent_buffers_not_filled": loader.non_persistent}
        if loader.unwrapped: ld["weight_loader_not_wrapped"] = loader.unwrapped
        skipped_by_design, unconsumed = [], []
        for n in loader.unconsumed:
            (skipped_by_design if n == "t2d" else unconsumed).append(n)
        ld["unconsumed_tensors"] = unconsumed
        ld["skipped_by_vllm_by_design"] = skipped_by_design
        if unconsumed: problems.append(f"tensors vLLM did not load: {unconsumed}")
        ld["value_mismatches"] = loader.mismatch
        ld["vocab_padding"] = loader.padded
        ld["buffers_not_in_checkpoint_left_at_init_value"] = loader.buffers_at_init
        if loader.mismatch: problems.append(f"parameters whose loaded values differ from the file: {sorted(loader.mismatch)}")

        # d2t / t2d
        Vd, V = hf.draft_vocab_size, vc.model_config.get_vocab_size()
        d2t = {"draft_vocab_size": Vd, "verifier_vocab_size": V,
               "in_file": "d2t" in loader.file, "has_draft_id_to_target_id": draft.draft_id_to_target_id is not None}
        if draft.draft_id_to_target_id is not None:
            d2t["loaded"] = "draft_id_to_target_id" not in loader.unfilled
            if "d2t" in loader.file:
                tgt = torch.arange(Vd) + loader.file["d2t"].long()
                d2t["targets_distinct_and_in_range"] = bool(tgt.unique().numel() == Vd and tgt.min() >= 0 and tgt.max() < V)
                if "t2d" in loader.file:
                    t2d = loader.file["t2d"].bool()
                    d2t["t2d_agrees_with_d2t"] = bool(t2d.sum() == Vd and t2d[tgt].all())
                    if not d2t["t2d_agrees_with_d2t"]: problems.append("t2d (ignored by vLLM) disagrees with d2t")
                if not d2t["targets_distinct_and_in_range"]: problems.append("d2t maps draft ids outside/onto each other")
            else:
                problems.append("draft vocabulary < verifier vocabulary but no d2t: vLLM's map stays unfilled (zeros at runtime)")
        ld["d2t"] = d2t

        # sharing with the verifier, decided by vLLM's own proposer code
        ns = SimpleNamespace(model=draft, vllm_config=draft_vc, use_local_argmax_reduction=bool(
            getattr(sc, "use_local_argmax_reduction", False)))   # the attributes the two methods read
        own_embed, own_head = getattr(draft, "has_own_embed_tokens", None), getattr(draft, "has_own_lm_head", None)
        EagleProposer._maybe_share_embeddings(ns, target)
        EagleProposer._maybe_share_lm_head(ns, target)
        draft = ns.model
        emb_shared = draft.model.embed_tokens is target.model.embed_tokens
        head_shared = draft.lm_head is getattr(target, "lm_head", None)
        ld["embed_tokens"] = {"has_own_embed_tokens": own_embed, "status": "shared from verifier" if emb_shared else
                              ("own (from the file)" if "model.embed_tokens.weight" not in loader.unfilled else "UNFILLED"),
                              "decided_by": "vLLM's Eagle3LlamaForCausalLM.load_weights/process_eagle_weight set "
                              "has_own_embed_tokens from the checkpoint names, then EagleProposer._maybe_share_embeddings "
                              "replaced the module by the verifier's (when the widths match); identity checked afterwards"}
        ld["lm_head"] = {"has_own_lm_head": own_head, "status": "shared from verifier" if head_shared else
                         ("own (from the file)" if "lm_head.weight" not in loader.unfilled else "UNFILLED")}
        if head_shared and Vd != V:
            problems.append(f"no lm_head.weight in the checkpoint while draft_vocab_size {Vd} < {V}: vLLM shares the verifier's "
                            f"{V}-row head and LogitsProcessor silently keeps its first {Vd} rows (wrong draft logits, no error)")
        shared = set()
        if emb_shared: shared.add("model.embed_tokens.weight")
        if head_shared: shared.add("lm_head.weight")
        # vLLM's eagle3 LlamaDecoderLayer creates hidden_norm in every layer but its forward reads it only in
        # layer_idx 0 (layers > 0 take input_layernorm(hidden_states, residual)); the EAGLE-3 layout has none there.
        unused = {f"model.layers.{i}.hidden_norm.weight" for i, l in enumerate(draft.model.layers) if l.layer_idx > 0}
        _account_unfilled(ld, loader, shared, unused, problems)

        # cheap functional checks on the loaded module (no attention: that needs a forward context)
        fn = ld["functional"] = {}
        with torch.no_grad():
            try:
                Ht = getattr(hf, "target_hidden_size", None) or hf.hidden_size
                x = draft.combine_hidden_states(torch.randn(3, k * Ht, dtype=vc.model_config.dtype))
                fn["combine_hidden_states"] = {"fc_input": k * Ht, "out_shape": list(x.shape), "finite": bool(torch.isfinite(x).all())}
                e = draft.embed_input_ids(torch.arange(min(V, 7)))
                fn["embed_input_ids"] = {"out_shape": list(e.shape), "finite": bool(torch.isfinite(e).all())}
                bad = []
                if "draft_id_to_target_id" in loader.unfilled:
                    fn["compute_logits"] = {"skipped": "draft_id_to_target_id unfilled (at runtime it keeps its init value, "
                                            "zeros: draft id i is taken as verifier id i)"}
                else:
                    lg = draft.compute_logits(torch.randn(2, hf.hidden_size, dtype=vc.model_config.dtype))
                    cols = torch.isfinite(lg[0]).nonzero().flatten()
                    fn["compute_logits"] = {"out_shape": list(lg.shape), "finite_columns": int(cols.numel())}
                    if "t2d" in loader.file and draft.draft_id_to_target_id is not None:
                        fn["compute_logits"]["finite_columns_are_t2d"] = bool(torch.equal(cols, loader.file["t2d"].nonzero().flatten()))
                    if lg.shape[-1] != V: bad.append("compute_logits width")
                bad += [n for n, r in fn.items() if r.get("finite") is False or r.get("finite_columns_are_t2d") is False]
                if bad: problems.append(f"functional checks failed: {bad}")
            except Exception as e:
                fn["error"] = _err(e); problems.append(f"functional check raised: {_err(e)}")
        lap("checks_s")
        from vllm.distributed import destroy_distributed_environment, destroy_model_parallel
        destroy_model_parallel(); destroy_distributed_environment()

    rep["vllm_warnings"] = coll.records
    rep["timings"] = timings
    rep["ok"] = not problems
    import shutil; shutil.rmtree(tmp, ignore_errors=True)
    return 0 if rep["ok"] else 1


def _dflash_config_checks(raw: dict, conf: dict, problems: list) -> None:
    "dflash (a): the fields update_dflash / DFlashQwen3ForCausalLM default when the file has none, and settings vLLM serves otherwise."
    tl = raw.get("transformer_layer_config") or {}
    missing = {k: v for k, v in DFLASH_DEFAULTS.items() if k not in raw}
    missing.update({f"transformer_layer_config.{k}": v for k, v in DFLASH_LAYER_DEFAULTS.items() if k not in tl})
    if "rope_theta" not in (tl.get("rope_parameters") or {}) and "rope_theta" not in tl:
        missing["transformer_layer_config.rope_parameters.rope_theta"] = 1e6
        problems.append("transformer_layer_config has no RoPE theta: vLLM's DFlash layers use 1e6 (set_default_rope_theta)")
    conf["fields_missing_defaulted_by_vllm"] = missing
    if "sliding_window_non_causal" in missing:
        problems.append("config.json has no sliding_window_non_causal: vLLM reads it as True (dflash_config.causal false: "
                        "every draft layer attends non-causally inside the query block)")
    if "sample_from_anchor" in missing:
        problems.append("config.json has no sample_from_anchor: vLLM reads it as False (the anchor is the bonus token; "
                        "only the N mask slots are sampled)")
    lt = tl.get("layer_types")
    # upstream speculators' writer (DFlashDraftModel; DFlash2DraftModel, its subclass): its model attends both ways in full-attention layers
    upstream = next((x for x in raw.get("architectures") or [] if x in ("DFlashDraftModel", "DFlash2DraftModel")), None)
    if upstream and raw.get("sliding_window_non_causal") is not True and tl.get("is_causal") is None \
            and (not lt or any(t != "sliding_attention" for t in lt)):
        problems.append(f"written by upstream speculators (architectures {upstream}), whose model attends both ways in full-attention "
                        "layers whatever sliding_window_non_causal says; vLLM turns false into dflash_config.causal=true, an override for "
                        "every layer, so the full-attention layers are served causal")
    elif raw.get("sliding_window_non_causal") is False:
        conf["block_causal"] = "every layer attends causally inside the block (sliding_window_non_causal false): what the directory says"
    if tl.get("is_causal") is not None:
        conf["is_causal_in_transformer_layer_config_overrides_dflash_config_causal"] = tl["is_causal"]
    req = [k for k in ("mask_token_id", "aux_hidden_state_layer_ids") if k not in raw]
    if req: conf["required_fields_missing"] = req   # update_dflash indexes them: vLLM raises KeyError below


def _dflash_translation(raw: dict, vc, sc, hf, conf: dict, problems: list) -> None:
    "dflash (a): what vLLM derived from the directory (dflash_config, aux ids, the number of query tokens)."
    from vllm.model_executor.models.qwen3_dflash import dflash_has_any_non_causal
    dc = dict(getattr(hf, "dflash_config", None) or {})
    N, V = sc.num_speculative_tokens, vc.model_config.get_vocab_size()
    aux = raw.get("aux_hidden_state_layer_ids") or []
    d = conf["dflash"] = {
        "dflash_config": _jsonable(dc),
        "eagle_aux_hidden_state_layer_ids": _jsonable(getattr(hf, "eagle_aux_hidden_state_layer_ids", None)),
        "num_speculative_tokens": N, "query_tokens_per_request": 1 + N, "block_size_in_file_not_read_by_vllm": raw.get("block_size"),
        "any_layer_non_causal": dflash_has_any_non_causal(hf)}
    if dc.get("mask_token_id") != raw.get("mask_token_id"):
        problems.append(f"vLLM's dflash_config.mask_token_id is {dc.get('mask_token_id')!r}, config.json's {raw.get('mask_token_id')!r}")
    if dc.get("target_layer_ids") != [i - 1 for i in aux] or list(getattr(hf, "eagle_aux_hidden_state_layer_ids", None) or []) != aux:
        problems.append(f"vLLM's target_layer_ids {dc.get('target_layer_ids')} / aux ids do not follow config.json's "
                        f"aux_hidden_state_layer_ids {aux}")
    m = raw.get("mask_token_id")
    if isinstance(m, int) and not 0 <= m < V:
        problems.append(f"mask_token_id {m} is outside the verifier's vocabulary 0..{V - 1}: the shared embedding cannot embed the mask slots")
    bs = raw.get("block_size")
    if isinstance(bs, int) and 1 + N > bs:
        problems.append(f"vLLM drafts 1 + num_speculative_tokens = {1 + N} query tokens per request (it never reads block_size) "
                        f"but config.json's block_size is {bs}: positions beyond the trained block")
    if not getattr(sc, "parallel_drafting", False):
        problems.append("vLLM does not draft this dflash directory in parallel")


def _dflash_load(a, rep, vc, sc, hf, raw, target, SentinelLoader, coll, timings, lap, tmp) -> int:
    """dflash (b)-(d): vLLM's own DFlash proposer (V2 DFlashSpeculator, or V1 DFlashProposer) is constructed and its
    load_model builds, loads and shares the draft; the sentinel loader is handed out by get_model_loader."""
    import shutil
    import torch
    import vllm.model_executor.model_loader as ml
    from vllm.model_executor.model_loader import DefaultModelLoader
    from vllm.distributed import destroy_distributed_environment, destroy_model_parallel
    problems, conf = rep["problems"], rep["config"]
    draft_dir = Path(rep["converted_dir"])
    v2 = a.dflash_runner == "v2"

    def stop(code):
        rep["ok"] = False; rep["vllm_warnings"] = coll.records; rep["timings"] = timings
        return code

    run = conf["dflash"]["runner"] = {
        "used": ("Model Runner V2: DFlashSpeculator.load_model -> load_dflash_model (v1/worker/gpu/spec_decode/dflash/utils.py), "
                 "model tag dflash_head") if v2 else
                ("V1: DFlashProposer.load_model -> SpecDecodeBaseProposer._get_model with DFlashProposer._create_draft_vllm_config "
                 "(v1/spec_decode/dflash.py), model tag eagle_head"),
        "vllm_would_pick_on_this_machine": "v2" if vc.use_v2_model_runner else "v1 (Model Runner V2 requires Triton)",
        "on_a_gpu_with_triton": "v2, unless VLLM_USE_V2_MODEL_RUNNER=0"}
    if v2:
        from vllm.v1.worker.gpu.spec_decode.dflash.speculator import DFlashSpeculator as Proposer
    else:
        from vllm.v1.spec_decode.dflash import DFlashProposer as Proposer
    try:   # the proposer's own checks, as at engine start (V2: sample_from_anchor, the mask token id)
        prop = Proposer(vc, torch.device("cpu"))
    except Exception as e:
        problems.append(f"vLLM's {Proposer.__name__} refused the draft config: {_err(e)}")
        return stop(2)
    run["parallel_drafting_token_id"] = _jsonable(prop.parallel_drafting_token_id)
    run["draft_attention_non_causal"] = bool(prop.requires_non_causal if v2 else not prop.dflash_causal)
    if not isinstance(prop.parallel_drafting_token_id, int):
        problems.append(f"vLLM's mask token for the parallel slots is {prop.parallel_drafting_token_id!r}, not a token id")
    if not v2 and (getattr(hf, "dflash_config", None) or {}).get("sample_from_anchor"):
        problems.append("sample_from_anchor is true but the V1 DFlashProposer never reads it: it samples only the N mask slots "
                        "(anchor = bonus token), not what the draft was trained for (V2 refuses the directory)")

    made, chosen = [], []
    real_get_model_loader = ml.get_model_loader
    def get_model_loader(load_config):   # what vLLM's get_model calls: hand out the hooked loader where vLLM chose the default one
        chosen_loader = real_get_model_loader(load_config)
        chosen.append(f"{type(chosen_loader).__name__} (load_format {load_config.load_format!r})")
        if type(chosen_loader) is not DefaultModelLoader:
            raise RuntimeError(f"vLLM chose {chosen[-1]} for the draft: this tool hooks only DefaultModelLoader")
        made.append(SentinelLoader(load_config)); return made[-1]
    ml.get_model_loader = get_model_loader
    try:
        prop.load_model(target)
    except Exception as e:
        loader = made[-1] if made else None
        stage = ("before the model was built" if loader is None else "model construction" if not hasattr(loader, "filled")
                 else "load_weights" if not hasattr(loader, "unconsumed") else "after load_weights (sharing)")
        problems.append(f"vLLM's loader raised ({stage}): {_err(e)}")
        rep["load"] = {"stage": stage, "error": _err(e), "loader_chosen_by_vllm": chosen,
                       "tensors_in_file": sorted(getattr(loader, "file", None) or {})}
        if stage == "model construction":
            rep["load"]["note"] = ("DFlashQwen3ForCausalLM could not be built here, so its load_weights did not run; "
                                   "the error above is vLLM's own")
        return stop(1)
    finally:
        ml.get_model_loader = real_get_model_loader
    lap("draft_build_and_load_s")
    loader, draft = made[-1], prop.model

    # ------------------------------------------------------------ (d) report
    run["layers"] = [{"kv_cache_layer": n, "causal": c, "sliding_window": l.self_attn.sliding_window,
                      "attention_backend": type(l.self_attn.attn.impl).__name__}
                     for n, c, l in zip(draft.get_draft_kv_cache_layer_names(), draft.get_draft_attn_causal(), draft.model.layers)]
    run["rope_parameters_used"] = _jsonable(getattr(hf, "rope_parameters", None))
    ld = rep["load"] = {"model_class": type(draft).__name__, "loader_chosen_by_vllm": chosen,
                        "tensors_in_file": {n: list(t.shape) for n, t in loader.file.items()},
                        "tensor_to_parameter": {p: f for p, f in sorted(loader.where.items())},
                        "sentinel_filled": len(loader.filled),
                        "non_persistent_buffers_not_filled": loader.non_persistent,
                        "mask_embedding_pt": {"present": (draft_dir / "mask_embedding.pt").exists(),
                                              "used_by_vllm": bool(draft.model.has_separate_mask_embedding)}}
    if loader.unwrapped: ld["weight_loader_not_wrapped"] = loader.unwrapped
    if loader.not_from_file: ld["loaded_from_outside_the_safetensors"] = loader.not_from_file
    ld["unconsumed_tensors"] = [n for n in loader.unconsumed if n != "t2d"]
    ld["skipped_by_vllm_by_design"] = [n for n in loader.unconsumed if n == "t2d"]
    if ld["unconsumed_tensors"]: problems.append(f"tensors vLLM did not load: {ld['unconsumed_tensors']}")
    ld["value_mismatches"] = loader.mismatch
    ld["vocab_padding"] = loader.padded
    ld["buffers_not_in_checkpoint_left_at_init_value"] = loader.buffers_at_init
    if loader.mismatch: problems.append(f"parameters whose loaded values differ from the file: {sorted(loader.mismatch)}")

    # d2t: DFlashQwen3ForCausalLM has draft_id_to_target_id only when draft_vocab_size != the verifier's vocabulary
    Vd, V, H = hf.draft_vocab_size, vc.model_config.get_vocab_size(), hf.hidden_size
    d2t = {"draft_vocab_size": Vd, "verifier_vocab_size": V, "in_file": "d2t" in loader.file,
           "has_draft_id_to_target_id": draft.draft_id_to_target_id is not None}
    if draft.draft_id_to_target_id is not None:
        d2t["loaded"] = "draft_id_to_target_id" not in loader.unfilled
        if "d2t" in loader.file:
            tgt = torch.arange(Vd) + loader.file["d2t"].long()
            d2t["targets_distinct_and_in_range"] = bool(tgt.unique().numel() == Vd and tgt.min() >= 0 and tgt.max() < V)
            if not d2t["targets_distinct_and_in_range"]: problems.append("d2t maps draft ids outside/onto each other")
        else:
            problems.append("draft vocabulary differs from the verifier's but no d2t: vLLM's map stays unfilled (zeros at runtime)")
    ld["d2t"] = d2t

    # sharing with the verifier: done by the proposer's load_model above; checked by identity
    emb_shared = draft.model.embed_tokens is target.model.embed_tokens
    head_shared = draft.lm_head is getattr(target, "lm_head", None)
    ld["embed_tokens"] = {"has_own_embed_tokens": getattr(draft, "has_own_embed_tokens", None),
                          "status": "shared from verifier" if emb_shared else
                          ("own (from the file)" if "model.embed_tokens.weight" not in loader.unfilled else "UNFILLED"),
                          "decided_by": ("load_dflash_model: maybe_share_target_embed/_should_share (the verifier's module unless "
                                         "the draft ships its own copy that differs; no width check)") if v2 else
                                        ("DFlashProposer.load_model: SpecDecodeBaseProposer._maybe_share_embeddings (the "
                                         "verifier's unless the draft ships a different copy, and only when the widths match)")}
    ld["lm_head"] = {"has_own_lm_head": getattr(draft, "has_own_lm_head", None),
                     "status": "shared from verifier" if head_shared else
                     ("own (from the file)" if "lm_head.weight" not in loader.unfilled else "UNFILLED"),
                     "decided_by": ("load_dflash_model: shared unless hf_config.has_own_lm_head or the draft ships a "
                                    "different lm_head") if v2 else "SpecDecodeBaseProposer._maybe_share_lm_head"}
    if head_shared and Vd != V:
        problems.append(f"no lm_head.weight in the checkpoint while draft_vocab_size {Vd} != {V}: vLLM shares the verifier's "
                        f"{V}-row head under a {Vd}-column LogitsProcessor (wrong draft logits)")
    if emb_shared and target.model.embed_tokens.weight.shape[-1] != H:
        problems.append(f"vLLM shares the verifier's embedding ({target.model.embed_tokens.weight.shape[-1]} wide) with a "
                        f"draft of hidden_size {H}")
    shared = ({"model.embed_tokens.weight"} if emb_shared else set()) | ({"lm_head.weight"} if head_shared else set())
    # mask_embedding: a parameter always built, loaded only from mask_embedding.pt, read only when that file was used
    unused = set() if draft.model.has_separate_mask_embedding else {"model.mask_embedding"}
    _account_unfilled(ld, loader, shared, unused, problems)

    # cheap functional checks on the loaded module. Not run: the query pass (attention metadata + a KV cache).
    fn = ld["functional"] = {}
    dt = vc.model_config.dtype
    with torch.no_grad():
        try:
            aux = conf.get("aux_layers_from_draft_config")
            Hv = vc.model_config.get_hidden_size()
            fc_in = draft.model.fc.input_size if draft.model.use_aux_hidden_state else None
            emitted = len(aux) * Hv if isinstance(aux, list) else None
            conf["aux_states_emitted_vs_fc_expects"] = {"aux_layers": aux, "verifier_hidden_size": Hv,
                                                        "features_emitted": emitted, "fc_input_size": fc_in}
            if fc_in is not None and emitted != fc_in:
                problems.append(f"the verifier will emit {emitted} aux features ({aux} x {Hv}) but vLLM built fc for {fc_in}: "
                                "ValueError in combine_hidden_states at the first step")
            bad = []
            if fc_in is not None:
                x = draft.combine_hidden_states(torch.randn(3, fc_in, dtype=dt))
                fn["combine_hidden_states"] = {"fc_input": fc_in, "out_shape": list(x.shape), "finite": bool(torch.isfinite(x).all())}
            ids = sorted({*range(min(V, 7))} | ({prop.parallel_drafting_token_id} if isinstance(prop.parallel_drafting_token_id, int)
                                                 and 0 <= prop.parallel_drafting_token_id < V else set()))
            e = draft.embed_input_ids(torch.tensor(ids))
            fn["embed_input_ids"] = {"ids_incl_mask_token": ids, "out_shape": list(e.shape), "finite": bool(torch.isfinite(e).all())}
            if e.shape[-1] != H: bad.append("embed_input_ids width")
            if "draft_id_to_target_id" in loader.unfilled:
                fn["compute_logits"] = {"skipped": "draft_id_to_target_id unfilled"}
            else:
                lg = draft.compute_logits(torch.randn(2, H, dtype=dt))
                cols = int(torch.isfinite(lg[0]).sum())
                fn["compute_logits"] = {"out_shape": list(lg.shape), "finite_columns": cols}
                if lg.shape[-1] != V or cols != Vd: bad.append("compute_logits")
            # the context path: hidden_norm -> each layer's k_proj -> k_norm -> RoPE at the context positions
            ctx, pos = torch.randn(3, H, dtype=dt), torch.arange(3)
            try:
                draft.precompute_and_store_context_kv(ctx, pos)   # no slot mapping: computes, writes no cache
                fn["precompute_and_store_context_kv"] = {"ran": True}
            except AttributeError as err:
                if "_C" not in str(err): raise
                fn["precompute_and_store_context_kv"] = {"not_run": "its fused kernels (torch.ops._C rms_norm / rotary_embedding) "
                                                         f"are not in this CUDA wheel on CPU: {_err(err, 200)}"}
            c = draft.model.hidden_norm(ctx); ks = []
            for l in draft.model.layers:
                at = l.self_attn
                _, k, _ = at.qkv_proj(c)[0].split([at.q_size, at.kv_size, at.kv_size], dim=-1)
                k = at.k_norm(k.reshape(3, -1, at.head_dim)).reshape(3, -1)
                ks.append(at.rotary_emb.forward_native(pos, torch.zeros(3, at.q_size, dtype=dt), k)[1])
            fn["context_kv_via_modules"] = {"how": "vLLM's modules one layer at a time (RoPE: RotaryEmbedding.forward_native)",
                                            "k_shape_per_layer": list(ks[0].shape),
                                            "finite": bool(all(torch.isfinite(k).all() for k in ks))}
            bad += [n for n, r in fn.items() if r.get("finite") is False]
            if bad: problems.append(f"functional checks failed: {bad}")
        except Exception as err:
            fn["error"] = _err(err); problems.append(f"functional check raised: {_err(err)}")
    lap("checks_s")
    destroy_model_parallel(); destroy_distributed_environment()
    rep["vllm_warnings"] = coll.records
    rep["timings"] = timings
    rep["ok"] = not problems
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if rep["ok"] else 1


def _dflash2_config_checks(raw: dict, conf: dict, problems: list) -> None:
    """dflash2 (a): DFlash's checks (update_dflash runs first), the four fields update_dflash2 copies (required), and z-lab's
    scales wherever the file carries them (update_dflash2 never transmits them)."""
    _dflash_config_checks(raw, conf, problems)
    req = [k for k in DFLASH2_KEYS if raw.get(k) is None]   # copied only when not None: KeyError in the speculator / at build
    if req: conf["required_fields_missing"] = conf.get("required_fields_missing", []) + req
    tl = raw.get("transformer_layer_config") or {}
    places = {"": raw, "dflash_config.": raw.get("dflash_config") or {}, "transformer_layer_config.": tl,
              "transformer_layer_config.dflash_config.": tl.get("dflash_config") or {}}
    found = {k: {w + k: src[k] for w, src in places.items() if isinstance(src, dict) and src.get(k) is not None}
             for k in DFLASH2_NOT_TRANSMITTED}
    conf["dflash2_scales_in_file"] = {k: v for k, v in found.items() if v}   # compared with what vLLM uses after the build


def _dflash2_translation(raw: dict, vc, sc, hf, conf: dict, problems: list, rep: dict) -> None:
    """dflash2 (a): DFlash's translation (dflash_config, aux ids, 1 + N query tokens), the four fields update_dflash2 added,
    the scales it does not transmit, and the runner vLLM picks."""
    from vllm.model_executor.models.qwen3_dflash import _dflash_layer_causal
    _dflash_translation(raw, vc, sc, hf, conf, problems)   # writes conf["dflash"]: DFlash's fields and checks, renamed below
    dc = dict(getattr(hf, "dflash_config", None) or {})
    N, V = sc.num_speculative_tokens, vc.model_config.get_vocab_size()
    absent = "ABSENT (KeyError: the DFlash2Speculator reads selector_top_k, DFlash2Qwen3ForCausalLM all four)"
    found = conf.pop("dflash2_scales_in_file", {})   # _dflash2_config_checks: where the file carries z-lab's scales
    d = conf["dflash2"] = {
        "method": sc.method, "draft_architectures": sc.draft_model_config.architectures, "num_speculative_tokens": N,
        **{k: _jsonable(dc.get(k, absent)) for k in DFLASH2_KEYS},
        "mask_token_id": _jsonable(dc.get("mask_token_id")), "target_layer_ids": _jsonable(dc.get("target_layer_ids")),
        "causal": _jsonable(dc.get("causal")), "sample_from_anchor": _jsonable(dc.get("sample_from_anchor")),
        "causal_per_layer_from_config": [_dflash_layer_causal(hf, i) for i in range(hf.num_hidden_layers)],
        "conv_block_length": {"vllm": 1 + N, "derived_from": "1 + num_speculative_tokens (DFlash2Qwen3DecoderLayer); block_size "
                              "is never read", "block_size_in_file": raw.get("block_size")},
        # update_dflash2 builds dflash_config afresh: what DFlash2Qwen3Model / DFlash2Qwen3ForCausalLM then read (with their defaults)
        "not_transmitted": {k: {"in_file": found.get(k, {}), "in_vllm_dflash_config": k in dc,
                                "vllm_reads": _jsonable(dc.get(k, default))} for k, default in DFLASH2_NOT_TRANSMITTED.items()},
        **conf.pop("dflash")}
    if sc.method != "dflash" or "DFlash2DraftModel" not in (sc.draft_model_config.architectures or []):
        problems.append(f"vLLM's speculative method is {sc.method!r} with architectures {sc.draft_model_config.architectures}, "
                        "not 'dflash' with DFlash2DraftModel (what update_dflash2 sets)")
    for k in DFLASH2_KEYS:
        if raw.get(k) is not None and dc.get(k) != raw[k]:
            problems.append(f"vLLM's dflash_config.{k} is {dc.get(k)!r}, config.json's {raw[k]!r}")
    k = dc.get("selector_top_k")
    if isinstance(k, int) and not 0 < k <= V:
        problems.append(f"selector_top_k {k} is not in 1..{V} (the verifier's vocabulary): the candidates' top-k fails at the first step")
    Vd = getattr(hf, "draft_vocab_size", None)
    if Vd is not None and Vd != V:
        problems.append(f"draft_vocab_size {Vd} != the verifier's {V}: DFlash2Qwen3ForCausalLM.compute_candidates takes the top-k of "
                        "lm_head without d2t (draft ids taken as verifier ids); upstream DFlash2 requires the full vocabulary")
    # the runner vLLM picks here by default (no VLLM_USE_V2_MODEL_RUNNER), and whether it has DFlash2
    saved = os.environ.pop("VLLM_USE_V2_MODEL_RUNNER", None)
    try:
        v2_here = vc.use_v2_model_runner
        v1_missing = [] if v2_here else vc._get_v1_model_runner_unsupported_features()
    except Exception as e:
        v2_here, v1_missing = None, [f"could not ask: {_err(e, 200)}"]
    finally:
        if saved is not None: os.environ["VLLM_USE_V2_MODEL_RUNNER"] = saved
    d["runner"] = {"used": "Model Runner V2: init_speculator (v1/worker/gpu/spec_decode/__init__.py) -> DFlash2Speculator "
                           "(dflash2/speculator.py); load_model -> load_dflash_model (dflash/utils.py), model tag dflash_head",
                   "vllm_would_pick_on_this_machine": "v2" if v2_here else f"v1 (no Triton here, or a feature V2 lacks), which lacks: {v1_missing}",
                   "on_a_gpu_with_triton": "v2 (V1 refuses DFlash candidate-head drafts)"}
    if v2_here is False and "DFlash candidate-head drafts" in v1_missing:
        rep.setdefault("notes", []).append(
            "on this machine (no Triton) vLLM picks Model Runner V1, which refuses dflash2 ('Model Runner V1 does not support: "
            "DFlash candidate-head drafts', config/vllm.py _get_v1_model_runner_unsupported_features); loaded here with "
            "VLLM_USE_V2_MODEL_RUNNER=1, as a GPU with Triton serves it")


def _dflash2_load(a, rep, vc, sc, hf, raw, target, SentinelLoader, coll, timings, lap, tmp) -> int:
    """dflash2 (b)-(d): the speculator Model Runner V2 picks (init_speculator: DFlash2Speculator for DFlash2DraftModel) is
    constructed and its load_model builds, loads and shares DFlash2Qwen3ForCausalLM; the sentinel loader is handed out by
    get_model_loader."""
    import shutil
    import torch
    import vllm.model_executor.model_loader as ml
    from vllm.model_executor.model_loader import DefaultModelLoader
    from vllm.distributed import destroy_distributed_environment, destroy_model_parallel
    from vllm.v1.worker.gpu.spec_decode import init_speculator
    from vllm.v1.worker.gpu.spec_decode.dflash2.speculator import DFlash2Speculator
    problems, conf = rep["problems"], rep["config"]
    draft_dir = Path(rep["converted_dir"])
    d2 = conf["dflash2"]; run = d2["runner"]

    def stop(code):
        rep["ok"] = False; rep["vllm_warnings"] = coll.records; rep["timings"] = timings
        return code

    try:   # vLLM's choice of speculator and its own checks, as at engine start (sample_from_anchor, the mask token, selector_top_k)
        prop = init_speculator(vc, torch.device("cpu"), None)   # req_states: not read on the dflash branch
    except Exception as e:
        problems.append(f"vLLM's speculator (init_speculator -> DFlash2Speculator) refused the draft config: {_err(e)}")
        return stop(2)
    run.update({"speculator_chosen_by_vllm": type(prop).__name__,
                "parallel_drafting_token_id": _jsonable(prop.parallel_drafting_token_id),
                "num_query_per_req": prop.num_query_per_req, "selector_top_k_read": _jsonable(getattr(prop, "top_k", None)),
                "draft_attention_non_causal": bool(prop.requires_non_causal)})
    if not isinstance(prop, DFlash2Speculator):
        problems.append(f"Model Runner V2 picks {type(prop).__name__} for this directory, not DFlash2Speculator: the candidate "
                        "selector would never run")
        return stop(1)
    if not isinstance(prop.parallel_drafting_token_id, int):
        problems.append(f"vLLM's mask token for the parallel slots is {prop.parallel_drafting_token_id!r}, not a token id")

    made, chosen = [], []
    real_get_model_loader = ml.get_model_loader
    def get_model_loader(load_config):   # what vLLM's get_model calls: hand out the hooked loader where vLLM chose the default one
        chosen_loader = real_get_model_loader(load_config)
        chosen.append(f"{type(chosen_loader).__name__} (load_format {load_config.load_format!r})")
        if type(chosen_loader) is not DefaultModelLoader:
            raise RuntimeError(f"vLLM chose {chosen[-1]} for the draft: this tool hooks only DefaultModelLoader")
        made.append(SentinelLoader(load_config)); return made[-1]
    ml.get_model_loader = get_model_loader
    try:
        prop.load_model(target)
    except Exception as e:
        loader = made[-1] if made else None
        stage = ("before the model was built" if loader is None else "model construction" if not hasattr(loader, "filled")
                 else "load_weights" if not hasattr(loader, "unconsumed") else "after load_weights (sharing)")
        problems.append(f"vLLM's loader raised ({stage}): {_err(e)}")
        rep["load"] = {"stage": stage, "error": _err(e), "loader_chosen_by_vllm": chosen,
                       "tensors_in_file": sorted(getattr(loader, "file", None) or {})}
        if stage == "model construction":
            rep["load"]["note"] = ("DFlash2Qwen3ForCausalLM could not be built here, so its load_weights did not run; "
                                   "the error above is vLLM's own")
        return stop(1)
    finally:
        ml.get_model_loader = real_get_model_loader
    lap("draft_build_and_load_s")
    loader, draft = made[-1], prop.model

    # ------------------------------------------------------------ (d) report
    run["layers"] = [{"kv_cache_layer": n, "causal": c, "sliding_window": l.self_attn.sliding_window,
                      "attention_backend": type(l.self_attn.attn.impl).__name__}
                     for n, c, l in zip(draft.get_draft_kv_cache_layer_names(), draft.get_draft_attn_causal(), draft.model.layers)]
    run["rope_parameters_used"] = _jsonable(getattr(hf, "rope_parameters", None))
    ld = rep["load"] = {"model_class": type(draft).__name__, "loader_chosen_by_vllm": chosen,
                        "tensors_in_file": {n: list(t.shape) for n, t in loader.file.items()},
                        "tensor_to_parameter": {p: f for p, f in sorted(loader.where.items())},
                        "sentinel_filled": len(loader.filled),
                        "non_persistent_buffers_not_filled": loader.non_persistent,
                        "mask_embedding_pt": {"present": (draft_dir / "mask_embedding.pt").exists(),
                                              "used_by_vllm": bool(draft.model.has_separate_mask_embedding)}}
    if loader.unwrapped: ld["weight_loader_not_wrapped"] = loader.unwrapped
    if loader.not_from_file: ld["loaded_from_outside_the_safetensors"] = loader.not_from_file
    ld["unconsumed_tensors"] = [n for n in loader.unconsumed if n != "t2d"]
    ld["skipped_by_vllm_by_design"] = [n for n in loader.unconsumed if n == "t2d"]
    if ld["unconsumed_tensors"]: problems.append(f"tensors vLLM did not load: {ld['unconsumed_tensors']}")
    ld["value_mismatches"] = loader.mismatch
    ld["vocab_padding"] = loader.padded
    ld["buffers_not_in_checkpoint_left_at_init_value"] = loader.buffers_at_init
    if loader.mismatch: problems.append(f"parameters whose loaded values differ from the file: {sorted(loader.mismatch)}")

    # the convolutions and the candidate selector: what vLLM built, and what it loaded against the file's bytes
    F = loader.file
    N = sc.num_speculative_tokens
    sel = draft.model.candidate_selector
    ld["convolutions"] = [{"layer": i, **{name: {"block_length": c.block_size, "taps": c.taps, "group_size": c.group_size,
                                                 "num_groups": c.num_groups, "base_kernel": list(c.base_kernel.shape),
                                                 "kernel_projection": list(c.kernel_projection.weight.shape)}
                                          for name, c in (("attention_conv", l.attention_conv), ("mlp_conv", l.mlp_conv))}}
                          for i, l in enumerate(draft.model.layers)]
    ld["candidate_selector"] = {"top_k": sel.top_k, "predecessor_codebook": list(sel.predecessor_codebook.shape),
                                "successor_codebook": list(sel.successor_codebook.shape),
                                "hidden_projection": list(sel.hidden_projection.weight.shape),
                                "tensors_in_file": sorted(n for n in F if n.startswith("candidate_selector."))}
    sd = dict(draft.named_parameters())
    ld["loaded_equals_file"] = {p: {"file": fs[0], **_file_bytes_equal(sd[p], F[fs[0]])} for p, fs in sorted(loader.where.items())
                                if len(fs) == 1 and p in sd and any(x in p for x in (".attention_conv.", ".mlp_conv.", ".candidate_selector."))}
    bad_bytes = [p for p, r in ld["loaded_equals_file"].items() if not r["equal"]]
    if bad_bytes: problems.append(f"convolution / selector parameters that differ from the file's tensors: {bad_bytes}")
    blk = sorted({c.block_size for l in draft.model.layers for c in (l.attention_conv, l.mlp_conv)})
    d2["conv_block_length"]["built"] = blk
    if blk != [1 + N]:
        problems.append(f"vLLM built the convolutions with block length {blk}, not 1 + num_speculative_tokens = {1 + N}")
    # the scales update_dflash2 does not transmit: what the built modules use, against the file
    used = {"input_embedding_scale": draft.model.input_embedding_scale, "output_multiplier": draft.candidate_logits_processor.scale,
            "final_logit_softcapping": draft.candidate_logits_processor.soft_cap}
    for k, v in used.items():
        nt = d2["not_transmitted"][k]; nt["vllm_uses"] = v
        for where, x in nt["in_file"].items():
            if ((x or None) if k == "final_logit_softcapping" else x) != v:   # a cap of 0 is no cap
                problems.append(f"the file's {where} is {x!r}: update_dflash2 does not transmit it and vLLM uses {v!r} "
                                "(the draft's logits / embeddings are not what it was trained with)")

    # d2t: DFlash2Qwen3ForCausalLM (DFlash's) has draft_id_to_target_id only when draft_vocab_size != the verifier's vocabulary
    Vd, V, H = hf.draft_vocab_size, vc.model_config.get_vocab_size(), hf.hidden_size
    d2t = {"draft_vocab_size": Vd, "verifier_vocab_size": V, "in_file": "d2t" in F,
           "has_draft_id_to_target_id": draft.draft_id_to_target_id is not None}
    if draft.draft_id_to_target_id is not None:
        d2t["loaded"] = "draft_id_to_target_id" not in loader.unfilled
    ld["d2t"] = d2t

    # sharing with the verifier: done by load_dflash_model above; checked by identity
    emb_shared = draft.model.embed_tokens is target.model.embed_tokens
    head_shared = draft.lm_head is getattr(target, "lm_head", None)
    ld["embed_tokens"] = {"has_own_embed_tokens": getattr(draft, "has_own_embed_tokens", None),
                          "status": "shared from verifier" if emb_shared else
                          ("own (from the file)" if "model.embed_tokens.weight" not in loader.unfilled else "UNFILLED"),
                          "decided_by": "load_dflash_model: maybe_share_target_embed/_should_share (the verifier's module unless "
                                        "the draft ships its own copy that differs; no width check)"}
    ld["lm_head"] = {"has_own_lm_head": getattr(draft, "has_own_lm_head", None),
                     "status": "shared from verifier" if head_shared else
                     ("own (from the file)" if "lm_head.weight" not in loader.unfilled else "UNFILLED"),
                     "decided_by": "load_dflash_model: shared unless hf_config.has_own_lm_head or the draft ships a different "
                                   "lm_head; compute_candidates reads it with the candidate LogitsProcessor"}
    if emb_shared and target.model.embed_tokens.weight.shape[-1] != H:
        problems.append(f"vLLM shares the verifier's embedding ({target.model.embed_tokens.weight.shape[-1]} wide) with a "
                        f"draft of hidden_size {H}")
    shared = ({"model.embed_tokens.weight"} if emb_shared else set()) | ({"lm_head.weight"} if head_shared else set())
    # mask_embedding: a parameter always built, loaded only from mask_embedding.pt, read only when that file was used
    unused = set() if draft.model.has_separate_mask_embedding else {"model.mask_embedding"}
    _account_unfilled(ld, loader, shared, unused, problems)
    ld["expected_unfilled"] = ("embed_tokens / lm_head (when the file has none) are replaced by the verifier's at load_dflash_model; "
                               "model.mask_embedding is read only with a mask_embedding.pt (as for dflash)")

    # functional checks with vLLM's module instances against plain torch on the file's tensors
    fn = ld["functional"] = {}
    fn["not_run_on_cpu"] = [
        "the backbone's query pass (attention metadata + a KV cache)",
        "precompute_and_store_context_kv (fused torch.ops._C rms_norm / rotary_embedding kernels, not in this wheel on CPU)",
        "the convolutions' Triton kernel dflash2_grouped_conv (used for CUDA tensors only; vLLM's own torch path _grouped_conv "
        "is what runs on CPU and is checked)",
        "the selector walk _selector_walk_kernel and _cache_draft_logits_kernel (Triton, DFlash2Speculator / CandidateSampler): "
        "its indexing is applied to vLLM's scores in torch instead; sampling with temperature > 0 (Gumbel noise) not checked"]
    dt = vc.model_config.dtype
    with torch.no_grad():
        try:
            aux = conf.get("aux_layers_from_draft_config")
            Hv = vc.model_config.get_hidden_size()
            fc_in = draft.model.fc.input_size if draft.model.use_aux_hidden_state else None
            emitted = len(aux) * Hv if isinstance(aux, list) else None
            conf["aux_states_emitted_vs_fc_expects"] = {"aux_layers": aux, "verifier_hidden_size": Hv,
                                                        "features_emitted": emitted, "fc_input_size": fc_in}
            if fc_in is not None and emitted != fc_in:
                problems.append(f"the verifier will emit {emitted} aux features ({aux} x {Hv}) but vLLM built fc for {fc_in}: "
                                "ValueError in combine_hidden_states at the first step")
            bad = []
            if fc_in is not None:
                x = draft.combine_hidden_states(torch.randn(3, fc_in, dtype=dt))
                fn["combine_hidden_states"] = {"fc_input": fc_in, "out_shape": list(x.shape), "finite": bool(torch.isfinite(x).all())}
            mask = prop.parallel_drafting_token_id
            ids = sorted({*range(min(V, 7))} | ({mask} if isinstance(mask, int) and 0 <= mask < V else set()))
            e = draft.embed_input_ids(torch.tensor(ids))
            fn["embed_input_ids"] = {"ids_incl_mask_token": ids, "input_embedding_scale": draft.model.input_embedding_scale,
                                     "out_shape": list(e.shape), "finite": bool(torch.isfinite(e).all())}
            if e.shape[-1] != H: bad.append("embed_input_ids width")
            try:
                draft.precompute_and_store_context_kv(torch.randn(3, H, dtype=dt), torch.arange(3))
                fn["precompute_and_store_context_kv"] = {"ran": True}
            except AttributeError as err:
                if "_C" not in str(err): raise
                fn["precompute_and_store_context_kv"] = {"not_run": "its fused kernels (torch.ops._C rms_norm / rotary_embedding) "
                                                         f"are not in this CUDA wheel on CPU: {_err(err, 200)}"}
            fn["grouped_conv"] = _dflash2_conv_check(draft, F, dt)
            if fn["grouped_conv"].get("ok") is False: bad.append("grouped_conv")
            fn["candidate_selector"] = _dflash2_selector_check(prop, draft, F, rep, dt)
            if fn["candidate_selector"].get("ok") is False: bad.append("candidate_selector")
            bad += [n for n, r in fn.items() if isinstance(r, dict) and r.get("finite") is False]
            if bad: problems.append(f"functional checks failed: {bad}")
        except Exception as err:
            fn["error"] = _err(err); problems.append(f"functional check raised: {_err(err)}")
    lap("checks_s")
    destroy_model_parallel(); destroy_distributed_environment()
    rep["vllm_warnings"] = coll.records
    rep["timings"] = timings
    rep["ok"] = not problems
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if rep["ok"] else 1


def _dflash2_conv_check(draft, F, dt) -> dict:
    """vLLM's DFlashGroupedConv.prepare / finish in every layer (on CPU its torch path `_grouped_conv`; the Triton kernel runs
    only for CUDA tensors) on random input, against plain torch from the file's tensors: delta = kernel_projection(prepare's
    input) viewed [rows, 2, taps, groups]; out[pos] = sum_{t < taps, pos >= t} (base[side, t] + delta[side, t, group]) * x[pos - t]
    inside each block of 1 + N rows (side 0: prepare on its input; side 1: finish on a second random input, the sublayer's output)."""
    import torch
    tol = 1e-5 if dt == torch.float32 else 2e-2
    r = {"how": "DFlashGroupedConv.prepare(x) / .finish(y, its coefficients), 3 blocks of rows, vs plain torch on the file's "
                "base_kernel / kernel_projection.weight", "modules": []}
    for i, l in enumerate(draft.model.layers):
        for name in ("attention_conv", "mlp_conv"):
            conv, pre = getattr(l, name), f"layers.{i}.{name}"
            e = {"module": f"model.{pre}", "block_length": conv.block_size, "taps": conv.taps, "group_size": conv.group_size}
            r["modules"].append(e)
            bn, wn = f"{pre}.base_kernel", f"{pre}.kernel_projection.weight"
            if bn not in F or wn not in F or F[bn].shape != conv.base_kernel.shape or F[wn].shape != conv.kernel_projection.weight.shape:
                e["skipped"] = "the file has no such tensors, or other shapes"; continue
            B, T, G = conv.block_size, conv.taps, conv.num_groups
            base, W = F[bn].to(dt), F[wn].to(dt)
            H = base.shape[-1]; rows = 3 * B
            e["file_is_identity_init"] = bool(torch.equal(base[:, 0], torch.ones_like(base[:, 0])) and not base[:, 1:].any() and not W.any())
            x, y = torch.randn(rows, H, dtype=dt), torch.randn(rows, H, dtype=dt)
            got_p, coef = conv.prepare(x)
            got_f = conv.finish(y, coef)
            delta = (x @ W.T).view(rows, 2, T, G).repeat_interleave(H // G, -1)   # [rows, 2, taps, H]: one scalar per group
            def ref(inp, side):
                out = torch.zeros_like(inp)
                for row in range(rows):
                    for t in range(min(T, row % B + 1)):   # causal inside the row's block of B rows
                        out[row] += (base[side, t] + delta[row, side, t]) * inp[row - t]
                return out
            rp, rf = ref(x, 0), ref(y, 1)
            e.update({"prepare_max_abs_diff": float((got_p - rp).abs().max()), "finish_max_abs_diff": float((got_f - rf).abs().max()),
                      "ok": bool(torch.allclose(got_p, rp, atol=tol, rtol=tol) and torch.allclose(got_f, rf, atol=tol, rtol=tol))})
    done = [m for m in r["modules"] if "ok" in m]
    r["ok"] = bool(done) and all(m["ok"] for m in done) and len(done) == len(r["modules"])
    return r


def _dflash2_selector_check(prop, draft, F, rep, dt) -> dict:
    """vLLM's own candidates and scores on random head hidden states h [R, N, H] (R requests, anchors written where the
    speculator reads them, input_buffers.input_ids[::1 + N]): DFlash2Qwen3ForCausalLM.compute_candidates (top-k through the
    candidate LogitsProcessor over lm_head) and DFlash2Speculator._score_candidates (CandidateSelector), against plain torch on
    the file's tensors and the verifier's lm_head: unary = top-k of h @ lm_head.T, score[prev, c] = unary[c] + sum_r
    pred[prev][r] * hidden_projection(h)[r] * succ[c][r], prev = the anchor at step 0, else the previous step's candidate.
    The walk is vLLM's Triton kernel (_selector_walk_kernel), not run on CPU: its greedy indexing (previous = 0 at step 0, where
    every row's predecessor is the anchor; index = argmax scores[step, previous, :]; previous = index) is applied to vLLM's
    scores in torch and compared with a greedy walk from the anchor over tokens in plain torch."""
    import torch
    from safetensors import safe_open
    names = ("candidate_selector.predecessor_codebook", "candidate_selector.successor_codebook",
             "candidate_selector.hidden_projection.weight")
    sel = draft.model.candidate_selector
    if any(n not in F for n in names) or F[names[0]].shape != sel.predecessor_codebook.shape or \
            F[names[1]].shape != sel.successor_codebook.shape or F[names[2]].shape != sel.hidden_projection.weight.shape:
        return {"skipped": f"the file lacks {list(names)} under these names, or has other shapes"}
    N, K, Q, H = prop.num_speculative_steps, prop.top_k, prop.num_query_per_req, draft.config.hidden_size
    lm, lm_src = None, "the draft's lm_head module (vLLM's)"
    if "lm_head.weight" in F:
        lm, lm_src = F["lm_head.weight"], "the draft file's lm_head.weight"
    elif rep["verifier"]["weights"] == "real":
        for f in sorted(Path(rep["verifier"]["path"]).glob("*.safetensors")):
            with safe_open(str(f), "pt") as sf:
                if "lm_head.weight" in sf.keys():
                    lm, lm_src = sf.get_tensor("lm_head.weight"), f"the verifier's lm_head.weight ({f.name})"; break
    if lm is None: lm = draft.lm_head.weight.detach()[: draft.config.vocab_size]
    P, S, Wh = (F[n].to(dt) for n in names)
    lm = lm.to(dt); V = lm.shape[0]
    anchors = torch.tensor([min(3, V - 1), min(5, V - 1), V - 1, 0][: max(1, prop.input_buffers.input_ids.shape[0] // Q)])
    R = len(anchors); ar = torch.arange(R)
    hidden = torch.randn(R, N, H, dtype=dt)
    # vLLM
    cand, unary = draft.compute_candidates(hidden.flatten(0, 1))
    cand = cand.view(R, N, K); unary = unary.view_as(cand)
    ids = prop.input_buffers.input_ids
    saved = ids[: R * Q].clone()
    try:
        ids[: R * Q : Q] = anchors.to(ids.dtype)
        scores = prop._score_candidates(cand, unary, hidden)   # [R, N, K (predecessor), K (candidate)]
    finally:
        ids[: R * Q] = saved
    prev, vtoks = torch.zeros(R, dtype=torch.long), []
    for s in range(N):
        i = scores[ar, s, prev].argmax(-1); vtoks.append(cand[ar, s, i]); prev = i
    vtoks = torch.stack(vtoks, 1)
    # plain torch
    rv, ri = (hidden @ lm.T).topk(K, -1)
    hp = hidden @ Wh.T   # [R, N, rank]
    pred = torch.cat([anchors[:, None, None].expand(R, 1, K), ri[:, :-1]], 1)
    rscores = rv[:, :, None, :] + ((P[pred] * hp[:, :, None, :])[:, :, :, None, :] * S[ri][:, :, None, :, :]).sum(-1)
    prev_tok, rtoks, margin = anchors, [], float("inf")
    for s in range(N):
        sc = rv[:, s] + ((P[prev_tok] * hp[:, s])[:, None, :] * S[ri[:, s]]).sum(-1)
        if K > 1:
            top2 = sc.topk(2, -1).values; margin = min(margin, float((top2[:, 0] - top2[:, 1]).min()))
        t = ri[ar, s, sc.argmax(-1)]; rtoks.append(t); prev_tok = t
    rtoks = torch.stack(rtoks, 1)
    tol = 1e-5 if dt == torch.float32 else 2e-2
    r = {"how": "compute_candidates + DFlash2Speculator._score_candidates on random head hidden states vs plain torch; the walk: "
                f"the kernel's indexing on vLLM's scores vs a greedy walk over tokens from the anchor; lm_head: {lm_src}",
         "requests": R, "steps": N, "top_k": K, "anchors": anchors.tolist(),
         "candidates_equal": bool(torch.equal(cand.long(), ri.long())),
         "unary_max_abs_diff": float((unary.float() - rv.float()).abs().max()),
         "scores_shape": list(scores.shape),
         "scores_max_abs_diff": float((scores.float() - rscores.float()).abs().max()) if scores.shape == rscores.shape else None,
         "walk_tokens_vllm_scores": vtoks.tolist(), "walk_tokens_plain_torch": rtoks.tolist(),
         "walk_tokens_equal": bool(torch.equal(vtoks.long(), rtoks.long())), "min_top2_margin": margin,
         "steps_where_selector_overrides_unary_argmax": int((rtoks != ri[:, :, 0]).sum())}
    r["ok"] = bool(r["candidates_equal"] and r["scores_max_abs_diff"] is not None
                   and torch.allclose(unary.float(), rv.float(), atol=tol, rtol=tol)
                   and torch.allclose(scores.float(), rscores.float(), atol=tol, rtol=tol)
                   and (r["walk_tokens_equal"] or margin < 1e-4))   # a near-tie may flip
    return r


def _dspark_config_checks(raw: dict, conf: dict, problems: list) -> None:
    "dspark (a): the fields update_dspark / Qwen3DSparkForCausalLM default when the file has none, and settings vLLM serves otherwise."
    tl = raw.get("transformer_layer_config") or {}
    # update_dspark copies a field only when it is not None: a null counts as absent
    missing = {k: v for k, v in DSPARK_DEFAULTS.items() if raw.get(k) is None and k not in tl}
    missing.update({f"transformer_layer_config.{k}": v for k, v in DFLASH_LAYER_DEFAULTS.items() if k not in tl and k not in missing})
    if raw.get("markov_head_type") is None:
        missing["markov_head_type"] = "not read: vLLM builds the vanilla head"
    if "rope_theta" not in (tl.get("rope_parameters") or {}) and "rope_theta" not in tl:
        missing["transformer_layer_config.rope_parameters.rope_theta"] = 1e6
        problems.append("transformer_layer_config has no RoPE theta: vLLM's DSpark (DFlash) layers use 1e6 (set_default_rope_theta)")
    conf["fields_missing_defaulted_by_vllm"] = missing
    if "sample_from_anchor" in missing:
        problems.append("config.json has no sample_from_anchor: vLLM reads it as False (the 1 + N fill-in layout: the anchor is the "
                        "bonus token, only the N mask slots are sampled); upstream speculators' DSpark default is True")
    mht = raw.get("markov_head_type")
    if mht not in (None, "vanilla"):
        problems.append(f"markov_head_type is {mht!r}: vLLM's Qwen3DSparkModel builds only the vanilla Markov head "
                        f"(bias = markov_w2(markov_w1[prev]); the field is copied to the config and never read): the {mht} head's "
                        "own tensors have no home and its bias is not what vLLM computes")
    if "sliding_window_non_causal" in raw:
        conf["sliding_window_non_causal_not_read_by_vllm"] = raw["sliding_window_non_causal"]
    # upstream speculators' DSparkDraftModel (the DFlash backbone): full-attention layers attend both ways inside the block,
    # sliding-window layers causally unless sliding_window_non_causal; compared with vLLM's layers after the build
    if "DSparkDraftModel" in (raw.get("architectures") or []) and isinstance(tl.get("num_hidden_layers"), int):
        lt = tl.get("layer_types") or []
        conf["causal_per_layer_upstream_speculators"] = [
            bool(i < len(lt) and lt[i] == "sliding_attention" and tl.get("sliding_window") is not None
                 and not raw.get("sliding_window_non_causal", False)) for i in range(tl["num_hidden_layers"])]
    m = raw.get("markov_rank")
    if isinstance(m, int) and m < 0:
        problems.append(f"markov_rank is {m}: not a rank")
    elif m == 0:   # checked after the build: vLLM's rank-0 head must give a zero bias
        conf["markov_rank_0"] = ("upstream speculators builds no Markov head (pure DFlash drafting); vLLM's Qwen3DSparkModel "
                                 "always builds one, here of rank 0")
    req = [k for k in ("mask_token_id", "aux_hidden_state_layer_ids", "markov_rank") if raw.get(k) is None]
    if req: conf["required_fields_missing"] = req   # KeyError in update_dspark / ValueError in DSparkSpeculator / AttributeError at build


def _dspark_translation(raw: dict, vc, sc, hf, conf: dict, problems: list, rep: dict) -> None:
    "dspark (a): what vLLM derived from the directory (the top-level DSpark fields, aux ids, query tokens), and its runner choice."
    from vllm.model_executor.models.qwen3_dflash import _dflash_layer_causal, dflash_has_any_non_causal
    from vllm.v1.worker.gpu.spec_decode.utils import get_parallel_drafting_token_id
    N, V = sc.num_speculative_tokens, vc.model_config.get_vocab_size()
    aux = raw.get("aux_hidden_state_layer_ids") or []
    sfa = getattr(hf, "sample_from_anchor", True)   # DSparkSpeculator's read; update_dspark always writes it (default False)
    try: mask = get_parallel_drafting_token_id(hf)
    except Exception as e: mask = f"none: {_err(e, 200)}"
    absent = "ABSENT (AttributeError when Qwen3DSparkModel is built)"
    d = conf["dspark"] = {
        # what vLLM's code reads, with its own defaults (Qwen3DSparkModel / DSparkSpeculator)
        "method": sc.method, "num_speculative_tokens": N,
        "markov_rank": _jsonable(getattr(hf, "markov_rank", absent)),
        "markov_head_type_not_read": _jsonable(getattr(hf, "markov_head_type", None)),
        "enable_confidence_head": _jsonable(getattr(hf, "enable_confidence_head", False)),
        "confidence_head_with_markov": _jsonable(getattr(hf, "confidence_head_with_markov", False)),
        "sample_from_anchor": _jsonable(sfa), "dspark_bonus_anchor": _jsonable(getattr(hf, "dspark_bonus_anchor", None)),
        "mask_token_id": _jsonable(mask),
        "target_layer_ids": _jsonable(getattr(hf, "target_layer_ids", None)),
        "eagle_aux_hidden_state_layer_ids": _jsonable(getattr(hf, "eagle_aux_hidden_state_layer_ids", None)),
        "causal_per_layer_from_config": [_dflash_layer_causal(hf, i) for i in range(hf.num_hidden_layers)],
        "any_layer_non_causal": dflash_has_any_non_causal(hf),
        "query_tokens_per_request": N if sfa else 1 + N, "block_size_in_file_not_read_by_vllm": raw.get("block_size"),
        "parallel_drafting": getattr(sc, "parallel_drafting", None)}
    # the runner vLLM picks here by default (no VLLM_USE_V2_MODEL_RUNNER), and whether it has DSpark
    saved = os.environ.pop("VLLM_USE_V2_MODEL_RUNNER", None)
    try:
        v2_here = vc.use_v2_model_runner
        v1_missing = [] if v2_here else vc._get_v1_model_runner_unsupported_features()
    except Exception as e:
        v2_here, v1_missing = None, [f"could not ask: {_err(e, 200)}"]
    finally:
        if saved is not None: os.environ["VLLM_USE_V2_MODEL_RUNNER"] = saved
    d["runner"] = {"used": "Model Runner V2: DSparkSpeculator.load_model -> load_dspark_model (v1/worker/gpu/spec_decode/dspark/"
                           "utils.py), model tag dspark_head",
                   "vllm_would_pick_on_this_machine": "v2" if v2_here else f"v1 (no Triton here, or a feature V2 lacks), which lacks: {v1_missing}",
                   "on_a_gpu_with_triton": "v2 (V1 has no DSpark)"}
    if v2_here is False and "dspark speculative decoding" in v1_missing:
        rep.setdefault("notes", []).append(
            "on this machine (no Triton) vLLM picks Model Runner V1, which refuses dspark ('Model Runner V1 does not support: "
            "dspark speculative decoding', config/vllm.py _get_v1_model_runner_unsupported_features); loaded here with "
            "VLLM_USE_V2_MODEL_RUNNER=1, as a GPU with Triton serves it")
    if sc.method != "dspark":
        problems.append(f"vLLM's speculative method is {sc.method!r}, not 'dspark'")
    if not getattr(sc, "parallel_drafting", False):
        problems.append("vLLM does not draft this dspark directory in parallel")
    if isinstance(mask, str): pass   # none: the DSparkSpeculator refuses the directory below (its own ValueError)
    elif mask != raw.get("mask_token_id"):
        problems.append(f"vLLM's mask token id is {mask!r}, config.json's mask_token_id {raw.get('mask_token_id')!r}")
    elif isinstance(mask, int) and not 0 <= mask < V:
        problems.append(f"mask_token_id {mask} is outside the verifier's vocabulary 0..{V - 1}: the shared embedding cannot embed the mask slots")
    if d["target_layer_ids"] != [i - 1 for i in aux] or list(d["eagle_aux_hidden_state_layer_ids"] or []) != aux:
        problems.append(f"vLLM's target_layer_ids {d['target_layer_ids']} / aux ids do not follow config.json's "
                        f"aux_hidden_state_layer_ids {aux}")
    for k in ("markov_rank", "enable_confidence_head", "confidence_head_with_markov", "sample_from_anchor"):
        if raw.get(k) is not None and d[k] != raw[k]:
            problems.append(f"vLLM reads {k} as {d[k]!r}, config.json says {raw[k]!r}")
    bs = raw.get("block_size")
    if isinstance(bs, int) and d["query_tokens_per_request"] > bs:
        problems.append(f"vLLM drafts {d['query_tokens_per_request']} query tokens per request ("
                        f"{'N' if sfa else '1 + N'} with sample_from_anchor {sfa}; it never reads block_size) but config.json's "
                        f"block_size is {bs}: positions beyond the trained block")


def _file_bytes_equal(got, exp) -> dict:
    "A loaded tensor against the file's: bytes when the dtypes agree, else values after vLLM's cast (padded rows cut off)."
    import torch
    got = got.detach()[: exp.shape[0]] if got.dim() and got.shape[0] > exp.shape[0] else got.detach()
    r = {"shape": list(got.shape), "file_shape": list(exp.shape), "dtype": str(got.dtype), "file_dtype": str(exp.dtype)}
    if got.shape != exp.shape: r["equal"] = False
    elif got.dtype == exp.dtype:
        r["equal"] = bool(torch.equal(got.contiguous().view(torch.uint8), exp.contiguous().view(torch.uint8)))
        r["compared"] = "bytes"
    else:
        r["equal"] = bool(torch.equal(got, exp.to(got.dtype)))
        r["compared"] = f"values after the cast {exp.dtype} -> {got.dtype}"
    return r


def _dspark_load(a, rep, vc, sc, hf, raw, target, SentinelLoader, coll, timings, lap, tmp) -> int:
    """dspark (b)-(d): Model Runner V2's DSparkSpeculator is constructed and its load_model builds, loads and shares the
    draft; the sentinel loader is handed out by get_model_loader."""
    import shutil
    import torch
    import vllm.model_executor.model_loader as ml
    from vllm.model_executor.model_loader import DefaultModelLoader
    from vllm.distributed import destroy_distributed_environment, destroy_model_parallel
    from vllm.v1.worker.gpu.spec_decode.dspark.speculator import DSparkSpeculator
    problems, conf = rep["problems"], rep["config"]
    draft_dir = Path(rep["converted_dir"])
    run = conf["dspark"]["runner"]

    def stop(code):
        rep["ok"] = False; rep["vllm_warnings"] = coll.records; rep["timings"] = timings
        return code

    try:   # the speculator's own checks, as at engine start (the mask token id)
        prop = DSparkSpeculator(vc, torch.device("cpu"))
    except Exception as e:
        problems.append(f"vLLM's DSparkSpeculator refused the draft config: {_err(e)}")
        return stop(2)
    run.update({"parallel_drafting_token_id": _jsonable(prop.parallel_drafting_token_id),
                "sample_from_anchor": bool(prop.sample_from_anchor), "num_query_per_req": prop.num_query_per_req,
                "draft_attention_non_causal": bool(prop.requires_non_causal)})

    made, chosen = [], []
    real_get_model_loader = ml.get_model_loader
    def get_model_loader(load_config):   # what vLLM's get_model calls: hand out the hooked loader where vLLM chose the default one
        chosen_loader = real_get_model_loader(load_config)
        chosen.append(f"{type(chosen_loader).__name__} (load_format {load_config.load_format!r})")
        if type(chosen_loader) is not DefaultModelLoader:
            raise RuntimeError(f"vLLM chose {chosen[-1]} for the draft: this tool hooks only DefaultModelLoader")
        made.append(SentinelLoader(load_config)); return made[-1]
    ml.get_model_loader = get_model_loader
    try:
        prop.load_model(target)
    except Exception as e:
        loader = made[-1] if made else None
        stage = ("before the model was built" if loader is None else "model construction" if not hasattr(loader, "filled")
                 else "load_weights" if not hasattr(loader, "unconsumed") else "after load_weights (sharing)")
        problems.append(f"vLLM's loader raised ({stage}): {_err(e)}")
        rep["load"] = {"stage": stage, "error": _err(e), "loader_chosen_by_vllm": chosen,
                       "tensors_in_file": sorted(getattr(loader, "file", None) or {})}
        if stage == "model construction":
            rep["load"]["note"] = ("Qwen3DSparkForCausalLM could not be built here, so its load_weights did not run; "
                                   "the error above is vLLM's own")
        return stop(1)
    finally:
        ml.get_model_loader = real_get_model_loader
    lap("draft_build_and_load_s")
    loader, draft = made[-1], prop.model

    # ------------------------------------------------------------ (d) report
    run["layers"] = [{"kv_cache_layer": n, "causal": c, "sliding_window": l.self_attn.sliding_window,
                      "attention_backend": type(l.self_attn.attn.impl).__name__}
                     for n, c, l in zip(draft.get_draft_kv_cache_layer_names(), draft.get_draft_attn_causal(), draft.model.layers)]
    run["rope_parameters_used"] = _jsonable(getattr(hf, "rope_parameters", None))
    up = conf.get("causal_per_layer_upstream_speculators")
    if up is not None:
        served = [r["causal"] for r in run["layers"]]
        if served != up:
            problems.append(f"vLLM serves the layers causal={served}; upstream speculators' DSparkDraftModel trained them "
                            f"causal={up} (full attention both ways; sliding windows causal unless sliding_window_non_causal; "
                            "vLLM ignores sliding_window_non_causal for dspark)")
    ld = rep["load"] = {"model_class": type(draft).__name__, "loader_chosen_by_vllm": chosen,
                        "tensors_in_file": {n: list(t.shape) for n, t in loader.file.items()},
                        "tensor_to_parameter": {p: f for p, f in sorted(loader.where.items())},
                        "sentinel_filled": len(loader.filled),
                        "non_persistent_buffers_not_filled": loader.non_persistent}
    if loader.removed: ld["parameters_removed_by_vllm_load_weights"] = loader.removed
    if loader.unwrapped: ld["weight_loader_not_wrapped"] = loader.unwrapped
    if loader.not_from_file: ld["loaded_from_outside_the_safetensors"] = loader.not_from_file
    ld["unconsumed_tensors"] = [n for n in loader.unconsumed if n != "t2d"]
    ld["skipped_by_vllm_by_design"] = [n for n in loader.unconsumed if n == "t2d"]
    if ld["unconsumed_tensors"]: problems.append(f"tensors vLLM did not load: {ld['unconsumed_tensors']}")
    ld["value_mismatches"] = loader.mismatch
    ld["vocab_padding"] = loader.padded
    ld["buffers_not_in_checkpoint_left_at_init_value"] = loader.buffers_at_init
    if loader.mismatch: problems.append(f"parameters whose loaded values differ from the file: {sorted(loader.mismatch)}")

    # the Markov and confidence heads: what vLLM built, kept and loaded, against the file's bytes
    F = loader.file
    ch = draft.model.confidence_head
    ch_file = sorted(n for n in F if n.startswith("confidence_head."))
    ld["confidence_head"] = {"enable_confidence_head_read": bool(getattr(hf, "enable_confidence_head", False)),
                             "with_markov_read": bool(getattr(hf, "confidence_head_with_markov", False)),
                             "tensors_in_file": ch_file, "kept_by_vllm": ch is not None,
                             "input_dim": ch.proj.input_size if ch is not None else None,
                             "used_when_serving": "only with speculative_config enable_adaptive_verification "
                                                  "(DSparkSpeculator.load_draft_model: use_confidence_head)"}
    if ch_file and ch is None:
        ld["confidence_head"]["vllm_did"] = ("deleted the head and mapped confidence_head.* to nothing (Qwen3DSparkForCausalLM."
                                             "load_weights): the file's tensors are dropped without an error")
        problems.append(f"config.json's enable_confidence_head is {raw.get('enable_confidence_head')!r} but the file has {ch_file}: "
                        "vLLM drops the trained confidence head silently")
    elif not ch_file and getattr(hf, "enable_confidence_head", False):
        ld["confidence_head"]["vllm_did"] = "deleted the head the config asked for: the file has no confidence_head.* tensors"
        problems.append("enable_confidence_head is true but the file has no confidence_head.* tensors: vLLM deletes the head "
                        "silently (no per-token confidence for adaptive verification)")
    mk = [n for n in F if n.startswith("markov_head.")]
    ld["markov_head"] = {"tensors_in_file": sorted(mk), "rank_built": draft.model.markov_head.markov_w1.embedding_dim,
                         "markov_w1": list(draft.model.markov_head.markov_w1.weight.shape),
                         "markov_w2": list(draft.model.markov_head.markov_w2.weight.shape)}
    sd = dict(draft.named_parameters())
    ld["loaded_equals_file"] = {p: {"file": fs[0], **_file_bytes_equal(sd[p], F[fs[0]])} for p, fs in sorted(loader.where.items())
                                if len(fs) == 1 and p in sd and (".markov_head." in p or ".confidence_head." in p)}
    bad_bytes = [p for p, r in ld["loaded_equals_file"].items() if not r["equal"]]
    if bad_bytes: problems.append(f"Markov / confidence parameters that differ from the file's tensors: {bad_bytes}")

    # d2t: Qwen3DSparkForCausalLM has draft_id_to_target_id only when draft_vocab_size < the verifier's vocabulary
    Vd, V, H = hf.draft_vocab_size, vc.model_config.get_vocab_size(), hf.hidden_size
    d2t = {"draft_vocab_size": Vd, "verifier_vocab_size": V, "in_file": "d2t" in F,
           "has_draft_id_to_target_id": draft.draft_id_to_target_id is not None}
    if draft.draft_id_to_target_id is not None:
        d2t["loaded"] = "draft_id_to_target_id" not in loader.unfilled
        if "d2t" in F:
            tgt = torch.arange(Vd) + F["d2t"].long()
            d2t["targets_distinct_and_in_range"] = bool(tgt.unique().numel() == Vd and tgt.min() >= 0 and tgt.max() < V)
            if not d2t["targets_distinct_and_in_range"]: problems.append("d2t maps draft ids outside/onto each other")
    ld["d2t"] = d2t

    # sharing with the verifier: done by load_dspark_model above; checked by identity
    emb_shared = draft.model.embed_tokens is target.model.embed_tokens
    head_shared = draft.lm_head is getattr(target, "lm_head", None)
    ld["embed_tokens"] = {"has_own_embed_tokens": getattr(draft, "has_own_embed_tokens", None),
                          "status": "shared from verifier" if emb_shared else
                          ("own (from the file)" if "model.embed_tokens.weight" not in loader.unfilled else "UNFILLED"),
                          "decided_by": "load_dspark_model: maybe_share_target_embed when the draft's vocab_size <= the verifier's "
                                        "(the verifier's module unless the draft ships its own copy that differs)"}
    ld["lm_head"] = {"has_own_lm_head": getattr(draft, "has_own_lm_head", None),
                     "status": "shared from verifier" if head_shared else
                     ("own (from the file)" if "lm_head.weight" not in loader.unfilled else "UNFILLED"),
                     "decided_by": "load_dspark_model: the verifier's lm_head when draft_vocab_size equals the verifier's "
                                   "vocabulary, unless the draft ships a different one (_should_share)"}
    if emb_shared and target.model.embed_tokens.weight.shape[-1] != H:
        problems.append(f"vLLM shares the verifier's embedding ({target.model.embed_tokens.weight.shape[-1]} wide) with a "
                        f"draft of hidden_size {H}")
    shared = ({"model.embed_tokens.weight"} if emb_shared else set()) | ({"lm_head.weight"} if head_shared else set())
    # mask_embedding: always built, always mapped to nothing by Qwen3DSparkForCausalLM.load_weights, never read (DSpark masks
    # via the vocabulary row: has_separate_mask_embedding stays False)
    unused = {"model.mask_embedding"}
    _account_unfilled(ld, loader, shared, unused, problems)
    ld["expected_unfilled"] = ("embed_tokens / lm_head (when the file has none) are replaced by the verifier's at load_dspark_model; "
                               "model.mask_embedding is never loaded nor read")

    # functional checks on the loaded modules against plain torch on the file's tensors. Not run: the backbone's query
    # pass (attention metadata + a KV cache).
    fn = ld["functional"] = {}
    dt = vc.model_config.dtype
    with torch.no_grad():
        try:
            bad = []
            auxl = conf.get("aux_layers_from_draft_config")
            Hv = vc.model_config.get_hidden_size()
            fc_in = draft.model.fc.input_size if draft.model.use_aux_hidden_state else None
            emitted = len(auxl) * Hv if isinstance(auxl, list) else None
            conf["aux_states_emitted_vs_fc_expects"] = {"aux_layers": auxl, "verifier_hidden_size": Hv,
                                                        "features_emitted": emitted, "fc_input_size": fc_in}
            if fc_in is not None and emitted != fc_in:
                problems.append(f"the verifier will emit {emitted} aux features ({auxl} x {Hv}) but vLLM built fc for {fc_in}: "
                                "ValueError in combine_hidden_states at the first step")
            if fc_in is not None:
                x = draft.combine_hidden_states(torch.randn(3, fc_in, dtype=dt))
                fn["combine_hidden_states"] = {"fc_input": fc_in, "out_shape": list(x.shape), "finite": bool(torch.isfinite(x).all())}
            mask = prop.parallel_drafting_token_id
            ids = sorted({*range(min(V, 7))} | ({mask} if isinstance(mask, int) and 0 <= mask < V else set()))
            e = draft.embed_input_ids(torch.tensor(ids))
            fn["embed_input_ids"] = {"ids_incl_mask_token": ids, "out_shape": list(e.shape), "finite": bool(torch.isfinite(e).all())}
            if e.shape[-1] != H: bad.append("embed_input_ids width")
            lg = draft.compute_draft_logits(torch.randn(2, H, dtype=dt))
            fn["compute_draft_logits"] = {"out_shape": list(lg.shape), "finite": bool(torch.isfinite(lg).all())}
            if lg.shape[-1] != Vd: bad.append("compute_draft_logits width")
            try:
                draft.precompute_and_store_context_kv(torch.randn(3, H, dtype=dt), torch.arange(3))
                fn["precompute_and_store_context_kv"] = {"ran": True}
            except AttributeError as err:
                if "_C" not in str(err): raise
                fn["precompute_and_store_context_kv"] = {"not_run": "its fused kernels (torch.ops._C rms_norm / rotary_embedding) "
                                                         f"are not in this CUDA wheel on CPU: {_err(err, 200)}"}
            # the Markov bias and the confidence: vLLM's module instances vs plain torch on the file's tensors
            w1n, w2n = "markov_head.markov_w1.weight", "markov_head.markov_w2.weight"
            scale = draft.logits_processor.scale
            fn["logit_scale"] = scale
            if w1n in F and w2n in F and "model.markov_head.markov_w1.weight" not in loader.unfilled:
                w1, w2 = F[w1n].to(dt), F[w2n].to(dt)
                tol = 1e-5 if dt == torch.float32 else 2e-2   # matmul order differs (F.linear vs @)
                prev = torch.tensor(sorted({0, 1, w1.shape[0] - 1} | {i for i in ids if i < w1.shape[0]}))
                me = draft.markov_embed(prev)
                mb = draft.markov_bias(me)
                ref = scale * (w1[prev] @ w2.T)
                fn["markov_bias"] = {"how": "Qwen3DSparkForCausalLM.markov_embed / markov_bias (markov_w1 lookup, markov_w2 through "
                                            "the LogitsProcessor) vs logit_scale * markov_w1[prev] @ markov_w2.T from the file",
                                     "prev_ids": prev.tolist(), "embed_equals_file_rows": bool(torch.equal(me, w1[prev])),
                                     "out_shape": list(mb.shape), "max_abs_diff": float((mb - ref).abs().max()),
                                     "ok": bool(mb.shape == ref.shape and torch.allclose(mb, ref, atol=tol, rtol=tol))}
                if not (fn["markov_bias"]["ok"] and fn["markov_bias"]["embed_equals_file_rows"]): bad.append("markov_bias")
                if ch is not None and "confidence_head.proj.weight" in F:
                    h = torch.randn(len(prev), H, dtype=dt)
                    c = draft.compute_confidence(h, me)
                    xin = torch.cat([h, w1[prev]], -1) if ch.with_markov else h
                    cref = torch.sigmoid(xin.float() @ F["confidence_head.proj.weight"].float().T
                                         + (F["confidence_head.proj.bias"].float() if "confidence_head.proj.bias" in F else 0)).squeeze(-1)
                    fn["confidence"] = {"how": "compute_confidence (sigmoid of the fp32 confidence_head) vs sigmoid(["
                                               + ("h; markov_w1[prev]" if ch.with_markov else "h") + "] @ W.T + b) from the file",
                                        "out_shape": list(c.shape), "dtype": str(c.dtype), "max_abs_diff": float((c - cref).abs().max()),
                                        "ok": bool(c.shape == cref.shape and torch.allclose(c, cref, atol=1e-6, rtol=1e-5))}
                    if not fn["confidence"]["ok"]: bad.append("confidence")
                fn["sequential_sampling"] = _dspark_sequential_check(prop, draft, F, rep, dt, scale)
                if fn["sequential_sampling"].get("ok") is False: bad.append("sequential_sampling")
            elif draft.model.markov_head.markov_w1.embedding_dim == 0:   # markov_rank 0: an empty head, nothing to load
                prev = torch.tensor(ids)
                mb = draft.markov_bias(draft.markov_embed(prev))
                fn["markov_bias"] = {"how": "markov_rank 0: vLLM's empty Markov head on a few ids; its bias must be zero (pure DFlash)",
                                     "out_shape": list(mb.shape), "ok": bool(mb.shape == (len(ids), Vd) and (mb == 0).all())}
                if not fn["markov_bias"]["ok"]: bad.append("markov_bias")
            else:
                fn["markov_bias"] = {"skipped": "markov_w1 / markov_w2 not in the file or not loaded"}
            bad += [n for n, r in fn.items() if isinstance(r, dict) and r.get("finite") is False]
            if bad: problems.append(f"functional checks failed: {bad}")
        except Exception as err:
            fn["error"] = _err(err); problems.append(f"functional check raised: {_err(err)}")
    lap("checks_s")
    destroy_model_parallel(); destroy_distributed_environment()
    rep["vllm_warnings"] = coll.records
    rep["timings"] = timings
    rep["ok"] = not problems
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if rep["ok"] else 1


def _dspark_sequential_check(prop, draft, F, rep, dt, scale) -> dict:
    """vLLM's own sequential Markov sampling (DSparkSpeculator._sample_sequential, greedy) on a stand-in backbone output,
    against the same loop in plain torch: base = h @ lm_head.T (the verifier's lm_head from its file), then per step
    logits = base + markov_w2(markov_w1[prev]), prev = the sampled target id, the anchor first."""
    import torch
    from safetensors import safe_open
    R, N, H = prop.max_num_reqs, prop.num_speculative_steps, draft.config.hidden_size   # R: the engine's max_num_seqs
    head = draft.lm_head.weight
    lm_src = "the draft's lm_head module (vLLM's)"
    if "lm_head.weight" in F:
        lm, lm_src = F["lm_head.weight"], "the draft file's lm_head.weight"
    else:
        lm = None
        if rep["verifier"]["weights"] == "real":
            for f in sorted(Path(rep["verifier"]["path"]).glob("*.safetensors")):
                with safe_open(str(f), "pt") as sf:
                    if "lm_head.weight" in sf.keys():
                        lm, lm_src = sf.get_tensor("lm_head.weight"), f"the verifier's lm_head.weight ({f.name})"; break
        if lm is None: lm = head.detach()[: draft.config.draft_vocab_size]
    w1, w2 = F["markov_head.markov_w1.weight"].to(dt), F["markov_head.markov_w2.weight"].to(dt)
    ch = draft.model.confidence_head
    V1 = w1.shape[0]
    anchors = torch.tensor([min(3, V1 - 1), min(5, V1 - 1), V1 - 1, 0])
    hidden = torch.randn(len(anchors) * N, H, dtype=dt)
    n, got, got_conf = R * N, [], []
    saved = prop.use_confidence_head
    try:
        prop.use_confidence_head = ch is not None   # what enable_adaptive_verification turns on
        for s in range(0, len(anchors), R):   # R requests at a time, as the speculator's buffers allow
            prop.sample_indices[:n] = torch.arange(n)
            prop.sample_idx_mapping[:n] = torch.arange(R).repeat_interleave(N)
            prop.sample_pos[:n] = torch.arange(n) + 1
            prop.input_buffers.input_ids[prop._anchor_idx[:R]] = anchors[s:s + R].to(prop.input_buffers.input_ids.dtype)
            prop.draft_tokens.zero_()
            prop._sample_sequential(R, hidden[s * N:(s + R) * N])
            got.append(prop.draft_tokens[:R].clone())
            if ch is not None: got_conf.append(prop.draft_token_confidence_probs[:R].clone())
    finally:
        prop.use_confidence_head = saved
    R = len(anchors)
    got = torch.cat(got)
    got_conf = torch.cat(got_conf) if ch is not None else None
    d2t = F["d2t"].long() if "d2t" in F and draft.draft_id_to_target_id is not None else None
    hs = hidden.view(R, N, H)
    base = scale * (hs @ lm.to(dt).T)
    prev, toks, confs, margin = anchors, [], [], float("inf")
    for i in range(N):
        m = w1[prev]
        lg = base[:, i] + scale * (m @ w2.T)
        top2 = lg.topk(2, -1).values
        margin = min(margin, float((top2[:, 0] - top2[:, 1]).min()))
        t = lg.argmax(-1)
        t = t + d2t[t] if d2t is not None else t
        if ch is not None:
            xin = torch.cat([hs[:, i], m], -1) if ch.with_markov else hs[:, i]
            b = F["confidence_head.proj.bias"].float() if "confidence_head.proj.bias" in F else 0
            confs.append(torch.sigmoid(xin.float() @ F["confidence_head.proj.weight"].float().T + b).squeeze(-1))
        toks.append(t); prev = t
    ref = torch.stack(toks, 1)
    r = {"how": "DSparkSpeculator._sample_sequential (greedy; use_confidence_head on when the head is kept) on random "
                f"head hidden states vs plain torch; lm_head: {lm_src}",
         "anchors": anchors.tolist(), "vllm_tokens": got.tolist(), "plain_torch_tokens": ref.tolist(),
         "min_top2_margin": margin, "tokens_equal": bool(torch.equal(got.long(), ref.long()))}
    r["ok"] = r["tokens_equal"] or margin < 1e-4   # a near-tie may flip
    if ch is not None:
        cr = torch.stack(confs, 1)
        r["confidence_max_abs_diff"] = float((got_conf - cr).abs().max())
        r["ok"] = r["ok"] and bool(torch.allclose(got_conf, cr, atol=1e-6, rtol=1e-5))
    return r


if __name__ == "__main__":
    sys.exit(main())
