#!/usr/bin/env python
"""Load an SGLang-layout EAGLE-3 draft (what `speculators export DIR --to sglang` writes) with SGLang's own code, on CPU, and report what it did.

Run with the python of the venv made by `tools/sglang_env.sh VENV_DIR` (`-I`: nothing from PYTHONPATH or the
user's site-packages, so the repository's own `speculators` package never shadows anything):

    VENV_DIR/bin/python -I tools/sglang_load.py DRAFT_DIR --verifier VERIFIER_DIR [--json OUT] [--dtype float32]

The JSON report goes to stdout (and to OUT with --json); SGLang's own log goes to stderr. Exit status 0: the
draft loads as SGLang serves it and nothing is wrong; 1: problems, listed under "problems"; 2: SGLang raised
somewhere outside the steps that report their own errors.

What it runs, all of it SGLang's code (SGLang 0.5.23, torch 2.13 CPU; see tools/sglang_env.sh):

(a) server arguments: `sglang.srt.server_args.prepare_server_args` on the serve command line
    `--model-path VERIFIER --speculative-algorithm EAGLE3 --speculative-draft-model-path DIR --device cpu
    --dtype D --speculative-num-steps 3 --speculative-eagle-topk 1 --speculative-num-draft-tokens 4
    --skip-tokenizer-init`, then `ServerArgs.resolve_once()` (SGLang's own resolution pipeline: on CPU it picks
    the torch_native attention backend and spec v2 without overlap), then `runtime_context.publish(role="scheduler")`
    as `run_scheduler_process` does, and `distributed.bootstrap.init_parallel_runtime(device="cpu")`, the
    scheduler's own one-process gloo world (TP 1, PP 1).
(b) configs: the draft's `ModelConfig.from_server_args(..., model_path=speculative_draft_model_path,
    is_draft_model=True)` (what `TpModelWorker._init_model_config` does for the draft worker) and the target's;
    the class through `model_loader.utils.get_model_architecture` (SGLang's model registry), expected
    `LlamaForCausalLMEagle3` (sglang/srt/models/llama_eagle3.py).
(c) the verifier: built and loaded by SGLang's `get_model_loader(...).load_model` from VERIFIER (real weights when it
    has safetensors, else SGLang's dummy loader), as the target worker does.
(d) the draft: `build_load_config` + `adjust_config_with_unaligned_cpu_tp` + `get_model_loader` as
    `ModelRunner.load_model` does; the loader must be SGLang's `DefaultModelLoader`, whose `load_model` then runs
    unchanged (`_initialize_model` under the model dtype on CPU, `load_weights_and_postprocess` with SGLang's own
    safetensors iterator, `LlamaForCausalLMEagle3.load_weights`). One hook, on this loader instance's
    `_get_all_weights` (called right after the model is built, before any weight is loaded): every parameter and
    persistent buffer is filled with a sentinel (NaN; the integer minimum for integer tensors) and every parameter's
    `weight_loader` (or `default_weight_loader`, which `load_weights` falls back to) is wrapped to record which file
    tensor it received and to compare what it wrote with the file's values.
(e) embedding / lm_head sharing as `EAGLEWorkerV2.init_lm_head` does it (speculative/eagle_worker_v2.py:336-368):
    `resolve_target_embed_and_head(target, draft_model=draft)`, then `set_embed_and_head` when the draft has
    `load_lm_head_from_target` (no draft_vocab_size), else `set_embed` (which keeps the draft's own embedding only
    when target_hidden_size != hidden_size, llama.py:910-916); the hot token map is the draft's `hot_token_id`.
(f) aux hidden states: `resolve_spec_aux_hidden_state_config` (the target runner's reading of the draft config's
    `eagle_config.eagle_aux_hidden_state_layer_ids`) and `configure_aux_hidden_state_capture`, which calls the built
    verifier's own `set_eagle3_layers_to_capture`; reported are the ids passed, the resulting `layers_to_capture`
    and what they are in Hugging Face `output_hidden_states` indices. SGLang captures at the entry of layer i
    (llama.py:486-493: `capture_output` is handed to layer i's `attn_boundary.prepare`, which captures the updated
    residual, hidden_states + residual, before layer i's input_layernorm: layer_boundary/stage.py `_prepare_attention`),
    i.e. HF hidden_states[i]; so `layers_to_capture` are HF indices, and an SGLang aux id is HF index - 1 (llama.py:938-941).
    A layers_to_capture value outside [start_layer, end_layer) is never reached by the loop: that state is never captured.

Report: the class and architecture; the config values SGLang read (and the ones in the file it never reads, such as
norm_before_residual); the file's tensors not consumed (`load_weights` drops a name with no parameter silently, and
`t2d` by design); the parameters / buffers still holding the sentinel; for each consumed tensor the parameter(s) it
went into, the dtypes and whether the values written equal the file's (bytes when the dtypes agree, else values
after SGLang's cast, with whether that cast is lossless); d2t against SGLang's `hot_token_id` (= d2t + arange);
the embedding / lm_head decision; the aux-layer convention.
Not run: the draft's or the verifier's forward (they need SGLang's ForwardBatch, attention backend and KV pools).
"""
from __future__ import annotations

import argparse, importlib.util, contextlib, json, logging, os, socket, sys, time, traceback, warnings
from pathlib import Path

SERVE_EXTRA = ["--speculative-num-steps", "3", "--speculative-eagle-topk", "1", "--speculative-num-draft-tokens", "4"]
EXPECTED_ARCH = "LlamaForCausalLMEagle3"


# helpers shared with the other side-venv tools; loaded by path, since `python -I` leaves this directory off sys.path
_spec = importlib.util.spec_from_file_location("_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
_Collect, _err, _jsonable = _common.Collect, _common.err, _common.jsonable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("draft_dir", help="an SGLang-layout EAGLE-3 draft directory (config.json + *.safetensors)")
    ap.add_argument("--verifier", required=True, help="the verifier's local directory (config.json, and weights if any)")
    ap.add_argument("--json", help="also write the report to this file")
    ap.add_argument("--dtype", default="float32",
                    help="--dtype for SGLang (default float32: exact comparisons; 'auto' is what a plain serve command uses, "
                         "and the report says what auto would pick either way)")
    a = ap.parse_args(argv)
    rep = {}
    try:
        # SGLang logs to stderr; anything it might print goes there too, so that stdout is the JSON alone
        with contextlib.redirect_stdout(sys.stderr):
            code = _main(a, rep)
    except BaseException as e:   # anything SGLang raised outside the steps that report their own errors
        rep.setdefault("problems", []).append(f"unexpected error: {_err(e)}")
        rep["ok"] = False
        rep["traceback_tail"] = traceback.format_exc().splitlines()[-14:]
        code = 2
    finally:
        _teardown()
    out = json.dumps(_jsonable(rep), indent=2)
    if a.json: Path(a.json).write_text(out + "\n")
    print(out)
    return code


def _teardown():
    "Leave no process group behind (a load that stopped early included)."
    if "sglang.srt.distributed.parallel_state" not in sys.modules: return
    from sglang.srt.distributed.parallel_state import destroy_distributed_environment, destroy_model_parallel
    with contextlib.suppress(Exception): destroy_model_parallel()
    with contextlib.suppress(Exception): destroy_distributed_environment()


def _sentinel_mask(t):
    "Where tensor `t` still holds the sentinel (NaN for floating tensors, the integer minimum for integer ones)."
    import torch
    if t.is_floating_point(): return torch.isnan(t)
    if t.dtype == torch.bool: return torch.zeros_like(t, dtype=torch.bool)
    return t == torch.iinfo(t.dtype).min


def _fill_sentinel(t):
    import torch
    if t.is_floating_point(): t.fill_(float("nan"))
    elif t.dtype != torch.bool: t.fill_(torch.iinfo(t.dtype).min)


def _persistent_buffers(model):
    "(name, buffer) for the persistent buffers of `model` (the ones a state dict, and so a checkpoint, would hold)."
    for mname, mod in model.named_modules():
        for bname, b in mod.named_buffers(recurse=False):
            if b is not None and bname not in mod._non_persistent_buffers_set:
                yield (f"{mname}.{bname}" if mname else bname), b


def _compare(written, loaded, param_dtype) -> dict:
    "What a weight_loader wrote (flattened) against the file's tensor: bytes when the dtypes agree, else values after the cast."
    import torch
    exp = loaded.detach().reshape(-1)
    r = {"file_dtype": str(loaded.dtype).removeprefix("torch."), "param_dtype": str(param_dtype).removeprefix("torch."),
         "file_shape": list(loaded.shape)}
    if written.numel() != exp.numel():
        r["equal"] = False
        r["why"] = f"{written.numel()} elements left the sentinel, the file's tensor has {exp.numel()}"
        return r
    if loaded.dtype == param_dtype:
        r["compared"] = "bytes"
        r["equal"] = bool(torch.equal(written.contiguous().view(torch.uint8), exp.contiguous().view(torch.uint8)))
    else:
        cast = exp.to(param_dtype)
        r["compared"] = f"values after SGLang's cast {r['file_dtype']} -> {r['param_dtype']}"
        r["equal"] = bool(torch.equal(written, cast))
        r["cast_lossless"] = bool(torch.equal(cast.to(loaded.dtype), exp))
    return r


class _Recorder:
    """The hook on the draft loader: sentinel-fills the freshly built model, wraps its weight loaders, and follows
    SGLang's weight iterator so that each weight_loader call is tied to the file tensor being loaded."""

    def __init__(self, loader):
        self.loader, self.orig = loader, loader._get_all_weights
        self.model, self.current, self.names, self.calls, self.errors = None, None, [], {}, []
        loader._get_all_weights = self   # instance attribute: DefaultModelLoader.load_model calls self._get_all_weights(...)

    def __call__(self, model_config, model):
        self.model = model
        import torch
        from sglang.srt.model_loader.weight_utils import default_weight_loader
        with torch.no_grad():
            for _, p in model.named_parameters(): _fill_sentinel(p.data)
            for _, b in _persistent_buffers(model): _fill_sentinel(b)
        for pname, p in model.named_parameters():
            p.weight_loader = self._wrap(pname, getattr(p, "weight_loader", default_weight_loader))
        for name, tensor in self.orig(model_config, model):
            self.current = name; self.names.append(name)
            yield name, tensor
        self.current = None

    def _wrap(self, pname, orig):
        import torch
        def weight_loader(param, loaded_weight, *args, **kwargs):
            before = _sentinel_mask(param.data).clone()
            orig(param, loaded_weight, *args, **kwargs)
            with torch.no_grad():
                region = before & ~_sentinel_mask(param.data)
                rec = {"param": pname + (f" (shard {args[0]!r})" if args else ""), "param_shape": list(param.shape)}
                n = loaded_weight.shape[0] if loaded_weight.dim() else 0
                if (not args and int(region.sum()) != loaded_weight.numel() and param.dim() == loaded_weight.dim() >= 1
                        and param.shape[1:] == loaded_weight.shape[1:] and param.shape[0] > n):
                    # a vocabulary padded to SGLang's multiple (VocabParallelEmbedding / ParallelLMHead, padding_size 64):
                    # the file's rows first, then padding rows that the loader fills itself
                    pad = param.data[n:]
                    rec["padded_rows"] = {"count": param.shape[0] - n, "all_zero": bool((pad == 0).all())}
                    rec.update(_compare(param.data[:n].reshape(-1), loaded_weight, param.dtype))
                else:
                    rec.update(_compare(param.data[region], loaded_weight, param.dtype))
            self.calls.setdefault(self.current, []).append(rec)
        weight_loader.__wrapped__ = orig
        return weight_loader


def _main(a, rep) -> int:
    t0 = time.perf_counter(); timings = {}
    def lap(name):
        nonlocal t0
        t = time.perf_counter(); timings[name] = round(t - t0, 2); t0 = t

    draft_dir, ver_dir = Path(a.draft_dir).resolve(), Path(a.verifier).resolve()
    raw = json.loads((draft_dir / "config.json").read_text())
    rep.update({"draft_dir": str(draft_dir), "verifier_dir": str(ver_dir), "problems": []})
    problems = rep["problems"]

    warnings.filterwarnings("ignore")   # import-time noise of modules not on this path (AWQ / GGUF on CPU, ...)
    # SGLang's CPU engine (SGLANG_USE_CPU_ENGINE=1) needs the CPU build of sgl_kernel, which is not on PyPI: left unset,
    # SGLang runs on its base SRTPlatform (no accelerator), which builds and loads models the same way
    os.environ.pop("SGLANG_USE_CPU_ENGINE", None)
    coll = _Collect()
    import torch
    import sglang
    from sglang.srt.server_args import prepare_server_args
    logging.getLogger("sglang").addHandler(coll)
    rep["sglang_version"], rep["torch_version"] = sglang.__version__, torch.__version__
    lap("import_s")

    # (a) the serve command's arguments, resolved and published as a scheduler process does
    argv = ["--model-path", str(ver_dir), "--speculative-algorithm", "EAGLE3", "--speculative-draft-model-path", str(draft_dir),
            "--device", "cpu", "--dtype", a.dtype, *SERVE_EXTRA, "--skip-tokenizer-init"]
    rep["serve_args"] = argv
    sa = prepare_server_args(argv)
    sa.resolve_once()
    from sglang.srt.runtime_context import SpawnRanks, get_model, get_parallel, get_spec, publish
    publish(sa, role="scheduler", ranks=SpawnRanks(world_rank=0, gpu_id=0))
    from sglang.srt.distributed import bootstrap
    bootstrap.init_parallel_runtime(server_args=sa, device="cpu", dist_port=_free_port())
    rep["server_args_resolved"] = {k: getattr(sa, k, None) for k in (
        "speculative_algorithm", "speculative_draft_model_path", "speculative_num_steps", "speculative_eagle_topk",
        "speculative_num_draft_tokens", "dtype", "device", "attention_backend", "tp_size")}
    rep["parallel"] = {"tp_size": get_parallel().tp_size, "pp_size": get_parallel().pp_size,
                       "backend": torch.distributed.get_backend() if torch.distributed.is_initialized() else None}
    lap("server_args_and_parallel_s")

    # (b) the configs, as the draft and target workers read them; the class through SGLang's registry
    from sglang.srt.configs.model_config import ModelConfig, _get_and_verify_dtype
    from sglang.srt.model_loader.utils import get_model_architecture
    dmc = ModelConfig.from_server_args(sa, model_path=get_spec().speculative_draft_model_path,
                                       model_revision=get_spec().speculative_draft_model_revision, is_draft_model=True)
    tmc = ModelConfig.from_server_args(sa)
    dcls, darch = get_model_architecture(dmc)
    tcls, tarch = get_model_architecture(tmc)
    rep["draft_class"] = f"{dcls.__module__}.{dcls.__qualname__}"
    rep["draft_architecture"] = darch
    rep["target_class"] = f"{tcls.__module__}.{tcls.__qualname__}"
    rep["dtype"] = {"built_with": str(dmc.dtype).removeprefix("torch."), "asked": a.dtype,
                    "auto_would_pick_draft": str(_get_and_verify_dtype(dmc.hf_config, "auto")).removeprefix("torch."),
                    "auto_would_pick_target": str(_get_and_verify_dtype(tmc.hf_config, "auto")).removeprefix("torch.")}
    if darch != EXPECTED_ARCH:
        problems.append(f"SGLang resolves the draft to {darch} ({rep['draft_class']}), not {EXPECTED_ARCH}")
    lap("configs_s")

    # (c) the verifier, built and loaded by SGLang's own loader
    from sglang.srt.configs.device_config import DeviceConfig
    from sglang.srt.configs.update_config import adjust_config_with_unaligned_cpu_tp
    from sglang.srt.model_executor.model_runner_components.load_model_utils import build_load_config
    from sglang.srt.model_loader.loader import DefaultModelLoader, get_model_loader

    def load_config(load_format=None):
        return build_load_config(server_args=sa, tp_rank=0, load_format=load_format, remote_instance_weight_transporter_engine=None,
                                 remote_instance_weight_transporter_session_id="", draft_model_idx=None,
                                 weight_cache_mode=get_model().weight_cache_mode, weight_cache_socket=get_model().weight_cache_socket)

    has_weights = any(ver_dir.glob("*.safetensors"))
    tlc = load_config(None if has_weights else "dummy")
    tmc = adjust_config_with_unaligned_cpu_tp(tmc, tlc, get_parallel().tp_size)
    target = get_model_loader(load_config=tlc, model_config=tmc).load_model(model_config=tmc, device_config=DeviceConfig("cpu", 0))
    rep["verifier"] = {"weights": "real (its safetensors)" if has_weights else "dummy (SGLang's DummyModelLoader: no safetensors)",
                       "num_hidden_layers": tmc.hf_text_config.num_hidden_layers, "hidden_size": tmc.hf_text_config.hidden_size,
                       "vocab_size": tmc.hf_text_config.vocab_size}
    lap("verifier_s")

    # (d) the draft: SGLang's DefaultModelLoader.load_model, with the recording hook on this instance
    dlc = load_config()
    dmc = adjust_config_with_unaligned_cpu_tp(dmc, dlc, get_parallel().tp_size)
    loader = get_model_loader(load_config=dlc, model_config=dmc)
    rep["draft_loader"] = type(loader).__name__
    if type(loader) is not DefaultModelLoader:
        problems.append(f"SGLang chose {type(loader).__name__} for the draft, not DefaultModelLoader: not instrumented")
        rep["ok"] = False; return 1
    rec = _Recorder(loader)
    try:
        draft = loader.load_model(model_config=dmc, device_config=DeviceConfig("cpu", 0))
    except Exception as e:
        problems.append(f"SGLang's load_model raised: {_err(e)}")
        rep["load_error_traceback_tail"] = traceback.format_exc().splitlines()[-10:]
        rep["loaded_before_the_error"] = sorted(rec.calls)
        rep["ok"] = False; return 1
    lap("draft_s")

    _report_config(rep, raw, draft, dmc, problems)
    _report_tensors(rep, draft_dir, draft, rec, problems)
    _report_sharing(rep, raw, draft, target, rec, problems)
    lap("checks_s")
    _report_aux(rep, raw, sa, tmc, target, draft, problems)
    lap("aux_s")

    rep["sglang_warnings"] = coll.records
    rep["timings"] = timings
    rep["ok"] = not problems
    return 0 if rep["ok"] else 1


def _report_config(rep, raw, draft, dmc, problems):
    "The config values SGLang read (from the model it built) next to what the file says."
    hf, m = dmc.hf_config, draft.model
    ec = getattr(hf, "eagle_config", None) or {}
    read = rep["config_read_by_sglang"] = {
        "hidden_size": hf.hidden_size, "vocab_size": hf.vocab_size, "num_hidden_layers": hf.num_hidden_layers,
        "layers_built": len(m.layers),
        "target_hidden_size": getattr(hf, "target_hidden_size", None),
        "hidden_size_in (fc input per aux state)": m.hidden_size_in,
        "num_aux_hidden_states": m.num_aux_hidden_states,
        "num_aux_hidden_states_from": ("config.num_aux_hidden_states" if getattr(hf, "num_aux_hidden_states", None) is not None else
                                       "len(eagle_config.eagle_aux_hidden_state_layer_ids)" if ec.get("eagle_aux_hidden_state_layer_ids")
                                       else "default 3"),
        "fc": {"in_features": m.fc.in_features, "out_features": m.fc.out_features, "bias": m.fc.bias is not None},
        "bias (config.bias -> fc bias and attention bias)": bool(getattr(hf, "bias", False)),
        "norm_before_fc": m.norm_before_fc,
        "fc_norm (fc_norm or use_aux_norm)": m.fc_norm is not None,
        "norm_output": m.norm_output,
        "draft_vocab_size": hf.draft_vocab_size,
        "tie_word_embeddings": hf.tie_word_embeddings,
        "load_lm_head_from_target": draft.load_lm_head_from_target,
        "lm_head_shape": list(draft.lm_head.weight.shape),
        "eagle_config": dict(ec),
        "dtype": str(dmc.dtype).removeprefix("torch."),
    }
    keys = ("target_hidden_size", "num_aux_hidden_states", "norm_before_fc", "fc_norm", "use_aux_norm", "norm_output", "bias",
            "draft_vocab_size", "norm_before_residual", "eagle_config", "eagle_aux_hidden_state_layer_ids", "num_hidden_layers")
    rep["config_in_file"] = {k: raw[k] for k in keys if k in raw}
    # norm_before_residual: SGLang never reads it; its first layer always keeps the un-normed fused state as residual
    nbr = raw.get("norm_before_residual")
    read["norm_before_residual"] = {
        "in_file": nbr, "read_by_sglang": False,
        "what_sglang_computes": "first layer: residual = the fused hidden state before hidden_norm (llama_eagle3.py:97-102), i.e. "
                                "EAGLE-3 with norm_before_residual false"}
    if nbr is True:
        problems.append("norm_before_residual is true in the config, but SGLang ignores it: its first layer adds the un-normed "
                        "fused state as the residual (llama_eagle3.py:99), so the draft would not compute what it was trained to")
    if m.fc.in_features == hf.hidden_size:
        problems.append(f"fc reads {m.fc.in_features} features, the draft's hidden size: SGLang applies fc only when the incoming state's width "
                        "differs from the embedding's (llama_eagle3.py:238), so it never applies it")
    if raw.get("bias") and not read["fc"]["bias"]:
        problems.append("config.bias is true but SGLang built fc without a bias")
    if hf.num_hidden_layers != len(m.layers):
        problems.append(f"num_hidden_layers {hf.num_hidden_layers} but {len(m.layers)} layers built")


def _report_tensors(rep, draft_dir, draft, rec, problems):
    "Consumed / not consumed file tensors, unfilled parameters, and the values written against the file's."
    import torch
    from safetensors import safe_open
    in_files = {}
    for f in sorted(draft_dir.glob("*.safetensors")):
        with safe_open(str(f), "pt") as sf:
            for k in sf.keys(): in_files[k] = f.name
    rep["file_tensors"] = len(in_files)
    rec.file_of = in_files
    not_iterated = sorted(set(in_files) - set(rec.names))
    if not_iterated:
        rep["in_files_but_not_iterated_by_sglang"] = not_iterated
        problems.append(f"tensors in the safetensors that SGLang's iterator never yielded: {not_iterated}")

    consumed, not_consumed = {}, {}
    for name in rec.names:
        if name in rec.calls:
            calls = rec.calls[name]
            consumed[name] = calls[0] if len(calls) == 1 else {"calls": calls}
        elif "d2t" in name:   # llama_eagle3.py:350-353
            consumed[name] = {"into": "hot_token_id (d2t + arange(len(d2t)), llama_eagle3.py:352)"}
        elif "t2d" in name:
            not_consumed[name] = "dropped by design: load_weights `if \"t2d\" in name: continue` (llama_eagle3.py:355-356)"
        else:
            not_consumed[name] = "no parameter of that name after SGLang's renames: dropped silently (llama_eagle3.py:363-378)"
    rep["consumed"] = consumed
    rep["not_consumed"] = not_consumed
    bad = [n for n in not_consumed if "t2d" not in n]
    if bad: problems.append(f"tensors SGLang drops silently (no parameter of that name): {bad}")
    neq = [n for n, r in consumed.items() if "calls" not in r and r.get("equal") is False]
    neq += [n for n, r in consumed.items() if "calls" in r and not all(c.get("equal") for c in r["calls"])]
    if neq: problems.append(f"parameters whose values differ from the file's tensors: {neq}")

    # d2t -> hot_token_id, checked against the file
    d2t_name = next((n for n in rec.names if "d2t" in n), None)
    if d2t_name:
        with safe_open(str(draft_dir / in_files[d2t_name]), "pt") as sf: d2t = sf.get_tensor(d2t_name)
        hot = draft.hot_token_id
        exp = d2t + torch.arange(d2t.shape[0])
        V = draft.config.vocab_size
        r = rep["d2t"] = {"file_dtype": str(d2t.dtype).removeprefix("torch."), "shape": list(d2t.shape),
                          "hot_token_id_dtype": str(hot.dtype).removeprefix("torch.") if hot is not None else None,
                          "hot_token_id_equals_d2t_plus_arange": hot is not None and bool(torch.equal(hot, exp)),
                          "hot_token_ids_distinct_and_in_vocab": bool(exp.unique().numel() == exp.numel() and exp.min() >= 0 and exp.max() < V),
                          "length_equals_draft_vocab_size": d2t.shape[0] == draft.config.draft_vocab_size}
        if not r["hot_token_id_equals_d2t_plus_arange"]: problems.append("hot_token_id is not d2t + arange")
        if not r["hot_token_ids_distinct_and_in_vocab"]: problems.append("d2t maps draft ids outside the vocabulary or onto each other")
        if not r["length_equals_draft_vocab_size"]: problems.append(f"d2t has {d2t.shape[0]} entries, draft_vocab_size is {draft.config.draft_vocab_size}")
    else:
        rep["d2t"] = {"in_file": False, "hot_token_id": None,
                      "meaning": "no hot-token map: the draft's lm_head must cover the verifier's whole vocabulary"}
        if draft.config.draft_vocab_size != draft.config.vocab_size:
            problems.append(f"no d2t but draft_vocab_size {draft.config.draft_vocab_size} != vocab_size {draft.config.vocab_size}")

    # the sentinel: what load_weights left unfilled (before any sharing with the verifier)
    unfilled = {}
    for n, p in list(draft.named_parameters()) + list(_persistent_buffers(draft)):
        mask = _sentinel_mask(p.data)
        if mask.any(): unfilled[n] = "all" if mask.all() else f"{float(mask.float().mean()):.3f} of it"
    rep["unfilled_after_load_weights"] = unfilled
    rec.unfilled = unfilled


def _report_sharing(rep, raw, draft, target, rec, problems):
    "The verifier's embedding / lm_head put into the draft as EAGLEWorkerV2.init_lm_head does (eagle_worker_v2.py:352-368)."
    import torch
    from sglang.srt.speculative.pp_draft_embedding import resolve_target_embed_and_head
    own_embed_filled = "model.embed_tokens.weight" not in rec.unfilled
    embed, head = resolve_target_embed_and_head(target, draft_model=draft)
    if draft.load_lm_head_from_target:
        draft.set_embed_and_head(embed, head); how = "set_embed_and_head (no draft_vocab_size: load_lm_head_from_target)"
    else:
        draft.set_embed(embed); how = "set_embed"
    emb_shared = draft.model.embed_tokens.weight is embed
    head_shared = draft.lm_head.weight is head
    s = rep["embedding_and_lm_head"] = {
        "worker_call": how,
        "embed_tokens": "the verifier's (replaced)" if emb_shared else ("the draft's own (from the file)" if own_embed_filled else "UNFILLED"),
        "lm_head": "the verifier's (replaced)" if head_shared else
                   ("the draft's own (from the file)" if "lm_head.weight" not in rec.unfilled else "UNFILLED"),
        "rule": "set_embed keeps the draft's own embedding only when target_hidden_size != hidden_size (llama.py:910-916); "
                "else the verifier's replaces it, whether or not the file has one"}
    src = next((n for n, r in rep["consumed"].items() if r.get("param") == "model.embed_tokens.weight"), None)
    if emb_shared and src is not None:
        # the file's tensor against the verifier's as SGLang loaded it: in the file's dtype, and in the dtype SGLang runs
        # (a difference in one of them only is rounding: the file's copy was saved in another dtype than the verifier's)
        from safetensors import safe_open
        with safe_open(str(Path(rep["draft_dir"]) / rec.file_of[src]), "pt") as sf: own = sf.get_tensor(src)
        e = embed.detach()
        in_file_dtype = own.shape == e.shape and bool(torch.equal(own, e.to(own.dtype)))
        in_run_dtype = own.shape == e.shape and bool(torch.equal(own.to(e.dtype), e))
        s["file_embed_tokens_equals_verifiers"] = {"in_the_file_dtype": in_file_dtype,
                                                   f"in_the_run_dtype ({str(e.dtype).removeprefix('torch.')})": in_run_dtype}
        if not (in_file_dtype or in_run_dtype):
            problems.append("the file's embed_tokens differs from the verifier's, and SGLang replaces it with the verifier's: "
                            "the draft would run with an embedding it was not trained with")
    replaced = ({"model.embed_tokens.weight"} if emb_shared else set()) | ({"lm_head.weight"} if head_shared else set())
    # layers after the first never read their input_layernorm (llama_eagle3.py:103-105: hidden_norm(hidden_states, residual))
    never_read = {n for n in rec.unfilled if n.startswith("model.layers.") and n.split(".")[2] != "0" and ".input_layernorm." in n}
    left = {n: v for n, v in rec.unfilled.items() if n not in replaced | never_read}
    rep["unfilled_and_used"] = left
    rep["unfilled_but_replaced_by_verifiers"] = sorted(replaced & set(rec.unfilled))
    rep["unfilled_but_never_read"] = sorted(never_read)
    # the converse: a file tensor loaded into such a parameter is loaded for nothing (a later layer's norm belongs in hidden_norm)
    unread = [n for n, r in rep["consumed"].items() if (p := r.get("param", "")).startswith("model.layers.")
              and p.split(".")[2] != "0" and ".input_layernorm." in p]
    if unread:
        rep["consumed_but_never_read"] = {n: "a later layer's input_layernorm: its forward reads hidden_norm only "
                                             "(llama_eagle3.py:103-105)" for n in unread}
    if left: problems.append(f"parameters / buffers left at the sentinel, which the draft reads: {sorted(left)}")


def _report_aux(rep, raw, sa, tmc, target, draft, problems):
    "The ids the target runner reads from the draft config, the verifier's own set_eagle3_layers_to_capture, and HF indices."
    from sglang.srt.model_executor.model_runner_components.attention_backend_setup import configure_aux_hidden_state_capture
    from sglang.srt.model_executor.model_runner_components.spec_aux_hidden_state import resolve_spec_aux_hidden_state_config
    from sglang.srt.runtime_context import get_spec
    from sglang.srt.speculative.spec_info import SpeculativeAlgorithm
    algo = SpeculativeAlgorithm.from_string(get_spec().speculative_algorithm)
    cfg = resolve_spec_aux_hidden_state_config(server_args=sa, model_config=tmc, spec_algorithm=algo, is_draft_worker=False)
    configure_aux_hidden_state_capture(model=target, eagle_use_aux_hidden_state=cfg.eagle_use_aux_hidden_state,
                                       eagle_aux_hidden_state_layer_ids=cfg.eagle_aux_hidden_state_layer_ids,
                                       dflash_use_aux_hidden_state=cfg.dflash_use_aux_hidden_state,
                                       dflash_target_layer_ids=cfg.dflash_target_layer_ids, is_dspark=cfg.is_dspark)
    tm = target.model
    ltc = list(getattr(tm, "layers_to_capture", []))
    start, end = getattr(tm, "start_layer", 0), getattr(tm, "end_layer", len(tm.layers))
    reached = [i for i in ltc if start <= i < end]
    fmt_ids = raw.get("eagle_aux_hidden_state_layer_ids")
    r = rep["aux_layers"] = {
        "target_class": type(target).__name__,
        "eagle_use_aux_hidden_state": cfg.eagle_use_aux_hidden_state,
        "ids_passed_to_set_eagle3_layers_to_capture": cfg.eagle_aux_hidden_state_layer_ids,
        "ids_from": "draft config eagle_config.eagle_aux_hidden_state_layer_ids (spec_aux_hidden_state.py:185-196)"
                    if cfg.eagle_aux_hidden_state_layer_ids is not None else
                    "none (no eagle_config.eagle_aux_hidden_state_layer_ids): the verifier's default [2, N//2, N-3]",
        "layers_to_capture": ltc,
        "capture_point": "entry of layer i: hidden_states + residual before its input_layernorm = HF output_hidden_states[i]",
        "hf_hidden_states_indices": reached,
        "never_captured (index outside the layer loop)": [i for i in ltc if i not in reached],
        "verifier_layers": end - start,
        "states_captured": len(reached), "draft_num_aux_hidden_states": draft.model.num_aux_hidden_states}
    if fmt_ids is not None:
        r["top_level_eagle_aux_hidden_state_layer_ids (not read by SGLang)"] = fmt_ids
        r["hf_indices_equal_top_level_ids"] = reached == list(fmt_ids)
        if reached != list(fmt_ids):  # the top-level ids are the format's (what the draft was trained on), written by `speculators export`
            problems.append(f"SGLang captures output_hidden_states {reached}, but the config's top-level eagle_aux_hidden_state_layer_ids "
                            f"(the Speculators format's numbering, the states the draft was trained on) are {list(fmt_ids)}")
    if len(reached) != len(ltc):
        problems.append(f"aux ids {cfg.eagle_aux_hidden_state_layer_ids} give layers_to_capture {ltc}, of which "
                        f"{[i for i in ltc if i not in reached]} lie outside the verifier's {end - start} layers: never captured")
    if len(reached) != draft.model.num_aux_hidden_states:
        problems.append(f"SGLang captures {len(reached)} verifier states but the draft's fc fuses {draft.model.num_aux_hidden_states}")
    if cfg.eagle_aux_hidden_state_layer_ids is None:
        problems.append("no eagle_config.eagle_aux_hidden_state_layer_ids: SGLang falls back to the verifier's default layers")


if __name__ == "__main__":
    sys.exit(main())
