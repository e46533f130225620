#!/usr/bin/env python
"""Build a tiny SpecForge EAGLE-3 draft with SpecForge's own classes, save it the way SpecForge saves it,
and record SpecForge's own forward as a judge.

    VENV/bin/python specforge_fixture.py OUT_DIR --variant {plain,fc_norm,norm_output_true,norm_output_false,eagle3_1}

Run with the venv made by producer_env.sh specforge (specforge==0.2.0, CPU torch). Nothing of SpecForge is stubbed or
patched; observers only (forward hooks on the draft's fc / midlayer / lm_head / embed_tokens).

What it writes under OUT_DIR:
  draft_config.json        the user-authored draft config SpecForge trains from (--draft-config)
  verifier/                a tiny Llama verifier (transformers LlamaForCausalLM, sharded with an index.json,
                           because SpecForge's TargetHead and load_embedding read *.index.json)
  train/fixture-step1/     SpecForge's training checkpoint, written by specforge.training.checkpoint.CheckpointManager
                           (training_state.pt: {"draft_state_dict", "strategy": "eagle3", ...} + training_state_rank0.pt)
  sglang/                  `specforge export --to sglang` of that checkpoint (config.json + model.safetensors, no embedding)
  hf/                      `specforge export --to hf --embedding-source verifier` (same + embed_tokens.weight)
  reference.safetensors    inputs and SpecForge's own step-0 outputs (see REFERENCE_DOC below)
  fixture.json             what was built: variant, config keys, tensor names/dtypes/shapes per directory, timings
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

# helpers shared with the other producer fixtures; loaded by path, since `python -I` leaves this directory off sys.path
_spec = importlib.util.spec_from_file_location(
    "_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
dir_listing, randomize_draft, tensor_seed = _common.dir_listing, _common.randomize_draft, _common.tensor_seed

# Triton's own CPU interpreter: SpecForge's loss (specforge/core/loss.py, LogSoftmaxLoss) is a @triton.jit kernel,
# and triton reads this variable when the kernel is decorated, i.e. at import of specforge.core.loss.
os.environ.setdefault("TRITON_INTERPRET", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

VARIANTS = {
    # variant: extra draft-config keys (SpecForge 0.2.0 reads exactly two: fc_norm, norm_output)
    "plain": {},
    "fc_norm": {"fc_norm": True},
    "norm_output_true": {"norm_output": True},    # SpecForge's default spelled out: no effect on its forward
    "norm_output_false": {"norm_output": False},  # compute_logits skips the final norm
    "eagle3_1": {"fc_norm": True, "norm_output": True},  # as SpecForge's configs/qwen3-30B-A3B-eagle3.1.json
}

H, HEADS, KV_HEADS, INTER, VOCAB, DRAFT_VOCAB, EPS = 64, 4, 2, 128, 256, 128, 1e-5
VERIFIER_LAYERS = 8
B, T = 2, 7
TTT_LENGTH = 7  # SpecForge's default training.ttt_length

REFERENCE_DOC = {
    "input_ids": "int64 (B,T): the token ids the draft embeds at step 0. SpecForge's offline path shifts the verifier's "
                 "sequence left by one and pads with 0 (TargetHead.preprocess -> specforge.utils.padding(left=False)): "
                 "input_ids[:, t] = verifier_input_ids[:, t+1], input_ids[:, -1] = 0",
    "verifier_input_ids": "int64 (B,T): the sequence the verifier ran on (what an offline feature file stores as input_ids)",
    "aux_hidden_states": "float32 (B,T,3H), bf16-representable: cat(verifier output of layers aux_layer_ids) at the "
                         "verifier's positions 0..T-1 (SpecForge 'hidden_state' tensor, the draft's fc input)",
    "position_ids": "int64 (1,T): arange(T), made by OnlineEagle3Model._prepare_position_ids (no position_ids in the batch)",
    "attention_mask": "int64 (B,T): ones",
    "loss_mask": "int64 (B,T): ones, last position 0 (eagle3 normalize_offline_sample); loss only, not the logits",
    "verifier_hidden_state": "float32 (B,T,H): the verifier's final (post-norm) hidden state, SpecForge's 'target' "
                             "(TargetHead turns it into teacher logits); loss only",
    "fused_hidden_states": "float32 (B,T,H): draft fc output = project_hidden_states(aux) (after fc_norm if enabled)",
    "draft_hidden_states": "float32 (B,T,H): step-0 midlayer output (pre final norm), the state TTT step 1 reuses",
    "logits": "float32 (B,T,draft_vocab): step-0 draft logits = compute_logits(draft_hidden_states), SpecForge's "
              "forward in float32 on the saved (bf16) weights",
    "logits_bf16": "bfloat16 (B,T,draft_vocab): the same step-0 logits with SpecForge's training dtype (model and "
                   "aux states in bfloat16, as training.torch_dtype=bfloat16 runs)",
    "loss_step0": "float32 (): SpecForge's step-0 KL loss (float32 run), via its triton kernel in interpreter mode",
}


def write_verifier(out: str, seed: int):
    """A tiny Llama verifier saved by transformers, sharded so that an index.json exists (SpecForge needs one)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=H, intermediate_size=INTER, num_hidden_layers=VERIFIER_LAYERS,
                      num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, rms_norm_eps=EPS, rope_theta=10000.0,
                      max_position_embeddings=2048, tie_word_embeddings=False, initializer_range=0.1,
                      bos_token_id=1, eos_token_id=2)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # make the verifier's norms non-trivial too, and all weights bf16-representable
        for name, p in model.named_parameters():
            g = torch.Generator().manual_seed(tensor_seed(seed + 7, name))
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            p.copy_(p.to(torch.bfloat16).float())
    model.save_pretrained(out, max_shard_size="200KB")
    return model


def aux_layer_ids_default(num_layers: int):
    # SpecForge's default, specforge/algorithms/model_providers.py resolve_eagle_capture_layers:
    #   [1, num_layers // 2 - 1, num_layers - 4]   (SGLang then captures the OUTPUT of these layers: +1 internally)
    return [1, num_layers // 2 - 1, num_layers - 4]


def verifier_states(verifier, ids, layer_ids):
    """What SGLang's capture (set_eagle3_layers_to_capture(layer_ids)) hands SpecForge, computed with transformers:
    SGLang stores hidden_states + residual at the input of layer id+1 = the output of layer id = HF hidden_states[id+1];
    the final state is the post-norm hidden (the lm_head input)."""
    import torch

    with torch.no_grad():
        out = verifier(input_ids=ids, output_hidden_states=True)
    hs = out.hidden_states  # [embeddings, layer0 out, ..., layer{L-2} out, norm(layer{L-1} out)]
    aux = torch.cat([hs[i + 1] for i in sorted(layer_ids)], dim=-1)
    final = hs[-1]
    return aux.to(torch.bfloat16).float(), final.to(torch.bfloat16).float()


def draft_config_dict(variant: str):
    cfg = {
        "architectures": ["LlamaForCausalLMEagle3"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": H // HEADS,
        "hidden_act": "silu",
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": 2048,
        "model_type": "llama",
        "num_attention_heads": HEADS,
        "num_hidden_layers": 1,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": EPS,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "vocab_size": VOCAB,
        "draft_vocab_size": DRAFT_VOCAB,
    }
    cfg.update(VARIANTS[variant])
    return cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="plain")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    timings = {}
    t_all = t0 = time.time()

    import torch
    from importlib.metadata import version
    from safetensors.torch import load_file, save_file

    from specforge.algorithms.eagle3.model import OnlineEagle3Model
    from specforge.cli import main as specforge_cli
    from specforge.data.preprocessing import process_token_dict_to_mappings
    from specforge.modeling.auto import AutoDraftModel, AutoDraftModelConfig
    from specforge.modeling.target.target_head import TargetHead
    from specforge.runtime.contracts import TrainBatch
    from specforge.training.backend import FSDPTrainingBackend, ParallelConfig
    from specforge.training.checkpoint import CheckpointManager
    from specforge.training.model_loading import warm_start_draft_model
    from specforge.training.strategies.base import Eagle3TrainStrategy
    from collections import Counter

    timings["import_s"] = round(time.time() - t0, 2)
    assert not torch.cuda.is_available(), "expected the CPU torch"
    out = os.path.abspath(args.out_dir)
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"{out} exists and is not empty")
    os.makedirs(out, exist_ok=True)

    # 1. verifier (transformers) and its states, as SGLang would capture them for SpecForge
    t0 = time.time()
    verifier_dir = os.path.join(out, "verifier")
    verifier = write_verifier(verifier_dir, args.seed)
    layer_ids = aux_layer_ids_default(VERIFIER_LAYERS)
    g = torch.Generator().manual_seed(args.seed + 1)
    verifier_ids = torch.randint(3, VOCAB, (B, T), generator=g)
    aux, final = verifier_states(verifier, verifier_ids, layer_ids)
    timings["verifier_s"] = round(time.time() - t0, 2)

    # 2. the draft, built the way specforge.algorithms.model_providers.build_eagle3_draft builds it
    t0 = time.time()
    cfg_path = os.path.join(out, "draft_config.json")
    with open(cfg_path, "w") as f:
        json.dump(draft_config_dict(args.variant), f, indent=2)
    draft_config = AutoDraftModelConfig.from_file(cfg_path)
    draft = AutoDraftModel.from_config(draft_config, attention_backend="sdpa", torch_dtype=torch.bfloat16)
    # vocab mapping from token counts, as training/assembly.py _install_dataset_vocab_mapping does
    corpus = torch.randint(0, VOCAB, (4096,), generator=torch.Generator().manual_seed(args.seed + 2)) ** 2 // VOCAB
    counts = Counter(torch.cat([corpus, verifier_ids.flatten()]).tolist())
    d2t, t2d = process_token_dict_to_mappings(counts, DRAFT_VOCAB, VOCAB)
    draft.d2t.copy_(d2t)
    draft.t2d.copy_(t2d)
    draft.vocab_mapping_loaded = True
    draft.load_embedding(verifier_dir, embedding_key="model.embed_tokens.weight")
    draft.freeze_embedding()
    randomize_draft(draft, args.seed)
    draft = draft.to(dtype=torch.bfloat16)
    eagle3 = OnlineEagle3Model(draft_model=draft, length=TTT_LENGTH, attention_backend="sdpa").to(dtype=torch.bfloat16)
    strategy = Eagle3TrainStrategy(eagle3, target_head=None)
    timings["build_s"] = round(time.time() - t0, 2)

    # 3. save it as SpecForge's trainer does (training/controller.py save_checkpoint -> CheckpointManager.save)
    t0 = time.time()
    backend = FSDPTrainingBackend(ParallelConfig())
    backend.prepare_model(eagle3, wrap=False)
    full = backend.state_dict()
    shared = {
        "draft_state_dict": strategy.checkpoint_state_filter(full["model"]),
        "global_step": 1, "epoch": 0, "epoch_batch": 1, "epoch_samples": B,
        "strategy": strategy.name, "run_id": "fixture", "world_size": 1,
    }
    ckpt_dir = CheckpointManager(os.path.join(out, "train"), "fixture").save(
        shared, 1, rank_state={"optimizer": full["optimizer"], "rng": full["rng"]})
    timings["checkpoint_s"] = round(time.time() - t0, 2)

    # 4. export with SpecForge's CLI (specforge export), both targets
    t0 = time.time()
    sglang_dir, hf_dir = os.path.join(out, "sglang"), os.path.join(out, "hf")
    specforge_cli(["export", "--to", "sglang", "--checkpoint", ckpt_dir, "--draft-config", cfg_path,
                   "--output-dir", sglang_dir])
    specforge_cli(["export", "--to", "hf", "--checkpoint", ckpt_dir, "--draft-config", cfg_path,
                   "--output-dir", hf_dir, "--embedding-source", verifier_dir])
    timings["export_s"] = round(time.time() - t0, 2)

    # the export must hold exactly the trained weights
    exported = load_file(os.path.join(sglang_dir, "model.safetensors"))
    live = {k: v for k, v in draft.state_dict().items() if "embed" not in k}
    assert sorted(exported) == sorted(live), (sorted(exported), sorted(live))
    for k, v in live.items():
        assert torch.equal(exported[k], v), k

    # 5. SpecForge's own forward: Eagle3TrainStrategy.forward_loss on an offline batch (target_repr hidden_state),
    #    with its TargetHead, on a draft warm-started from the HF export (training/model_loading.py)
    target_head = TargetHead.from_pretrained(verifier_dir)
    loss_mask = torch.ones(B, T, dtype=torch.long)
    loss_mask[:, -1] = 0
    batch_tensors = {"input_ids": verifier_ids, "attention_mask": torch.ones(B, T, dtype=torch.long),
                     "loss_mask": loss_mask, "hidden_state": aux,
                     "target": final.to(torch.bfloat16)}  # offline features are stored in bf16; TargetHead is bf16

    def run(dtype):
        # as build_eagle3_draft + warm_start_draft_model do (cfg.model.draft_checkpoint_path = the HF export).
        # Not AutoDraftModel.from_pretrained alone: under transformers 5.8.1 it leaves the draft's non-persistent
        # rotary buffers (inv_freq, cos_cached, sin_cached) uninitialized, and its logits are NaN.
        model = AutoDraftModel.from_config(AutoDraftModelConfig.from_file(cfg_path), attention_backend="sdpa",
                                           torch_dtype=dtype)
        report = warm_start_draft_model(model, hf_dir, draft_config=AutoDraftModelConfig.from_file(cfg_path),
                                        strategy="eagle3", allow_missing_embedding=True)
        assert report.loaded_embedding and not report.missing_keys, report
        model = model.to(dtype=dtype)
        model.freeze_embedding()
        ref_model = OnlineEagle3Model(draft_model=model, length=TTT_LENGTH, attention_backend="sdpa").to(dtype=dtype)
        strat = Eagle3TrainStrategy(ref_model, target_head=target_head)
        seen = {"fc": [], "midlayer": [], "lm_head": [], "embed_ids": []}
        hooks = [
            model.fc.register_forward_hook(lambda m, a, o: seen["fc"].append(o.detach())),
            model.midlayer.register_forward_hook(lambda m, a, o: seen["midlayer"].append(o.detach())),
            model.lm_head.register_forward_hook(lambda m, a, o: seen["lm_head"].append(o.detach())),
            model.embed_tokens.register_forward_hook(lambda m, a, o: seen["embed_ids"].append(a[0].detach())),
        ]
        tensors = dict(batch_tensors, hidden_state=aux.to(dtype))
        with torch.no_grad():
            step = strat.forward_loss(TrainBatch(sample_ids=[str(i) for i in range(B)], strategy="eagle3",
                                                 tensors=tensors, metadata={"target_repr": "hidden_state"}))
        for h in hooks:
            h.remove()
        assert len(seen["lm_head"]) == TTT_LENGTH and len(seen["fc"]) == 1
        for k, v in model.state_dict().items():  # the loaded model is the exported one
            if k in exported:
                assert torch.equal(v, exported[k].to(v.dtype)), k
        return seen, step

    t0 = time.time()
    seen32, step32 = run(torch.float32)
    timings["forward_fp32_s"] = round(time.time() - t0, 2)
    t0 = time.time()
    seen16, _ = run(torch.bfloat16)
    timings["forward_bf16_s"] = round(time.time() - t0, 2)

    draft_ids = seen32["embed_ids"][0]
    assert torch.equal(draft_ids[:, :-1], verifier_ids[:, 1:]) and (draft_ids[:, -1] == 0).all()
    reference = {
        "input_ids": draft_ids.contiguous(),
        "verifier_input_ids": verifier_ids,
        "aux_hidden_states": aux.contiguous(),
        "position_ids": torch.arange(T).unsqueeze(0),
        "attention_mask": batch_tensors["attention_mask"],
        "loss_mask": loss_mask,
        "verifier_hidden_state": final.contiguous(),
        "fused_hidden_states": seen32["fc"][0].float().contiguous(),
        "draft_hidden_states": seen32["midlayer"][0].float().contiguous(),
        "logits": seen32["lm_head"][0].float().contiguous(),
        "logits_bf16": seen16["lm_head"][0].contiguous(),
        "loss_step0": step32.metrics["plosses"][0].float().reshape(()),
    }
    meta = {
        "variant": args.variant,
        "variant_config_keys": json.dumps(VARIANTS[args.variant]),
        "specforge_version": version("specforge"),
        "torch_version": torch.__version__,
        "transformers_version": version("transformers"),
        "aux_layer_ids": json.dumps(layer_ids),
        "aux_layer_ids_meaning": "SpecForge numbering (0-based verifier layers whose OUTPUT is captured; SGLang adds "
                                 "+1 internally); HF hidden_states index = id + 1",
        "verifier_num_hidden_layers": str(VERIFIER_LAYERS),
        "doc": json.dumps(REFERENCE_DOC),
    }
    save_file(reference, os.path.join(out, "reference.safetensors"), metadata=meta)
    timings["total_s"] = round(time.time() - t_all, 2)

    summary = {
        "variant": args.variant,
        "specforge_version": meta["specforge_version"],
        "seed": args.seed,
        "aux_layer_ids": layer_ids,
        "draft_config.json": json.load(open(cfg_path)),
        "training_state.pt": {
            "path": os.path.relpath(os.path.join(ckpt_dir, "training_state.pt"), out),
            "keys": sorted(shared),
            "draft_state_dict": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape)}
                                 for k, v in sorted(shared["draft_state_dict"].items())},
        },
        "sglang": dir_listing(sglang_dir),
        "hf": dir_listing(hf_dir),
        "verifier_files": sorted(os.listdir(verifier_dir)),
        "reference": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "doc": REFERENCE_DOC[k]}
                      for k, v in reference.items()},
        "max_abs_logits_fp32_vs_bf16": float((reference["logits"] - reference["logits_bf16"].float()).abs().max()),
        "timings": timings,
    }
    with open(os.path.join(out, "fixture.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"specforge_fixture: {args.variant} -> {out} ({timings['total_s']} s; logits {tuple(reference['logits'].shape)}, "
          f"loss_step0 {float(reference['loss_step0']):.4f})")


if __name__ == "__main__":
    main()
