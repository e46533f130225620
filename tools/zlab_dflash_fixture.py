#!/usr/bin/env python
"""Build tiny DFlash drafts with z-lab's own classes (the `dflash` package), save them the producer's way and record
z-lab's own forward as a judge.

    VENV/bin/python -I zlab_dflash_fixture.py OUT_DIR [--variant V|all] [--seed S]

Run with the venv made by `producer_env.sh dflash` (dflash==0.1.0, transformers 5.15.0, CPU torch). Nothing of z-lab is
stubbed, patched or copied: the draft is dflash.model.DFlashDraftModel, saved with its save_pretrained and reloaded with
its from_pretrained (dflash 0.1.0 has no trainer and no exporter: its drafts are transformers Qwen3PreTrainedModels);
the context features come from its extract_context_feature, the block embedding from its _raw_input_embeddings (with
its _draft_value("input_embedding_scale")), the head from its _output_head and the logits from its compute_logits:
the calls its dflash_generate makes, on a stand-in verifier (a random embedding and head).

The draft: hidden 32, 4 heads / 2 kv heads, head_dim 8, intermediate 64, vocab 128, 2 layers, rms_norm_eps 1e-6,
rope_theta 1e6, a verifier of 8 layers, dflash_config {block_size 4, mask_token_id 127, target_layer_ids [1, 4]}.
Variants (same weights and inputs in all of them; norm weights 1 + 0.3*randn so that a missing norm shows):
  plain      all layers full_attention, no is_causal: z-lab attends bidirectionally inside the block
  causal     config is_causal: true: z-lab attends causally inside the block (every layer)
  scaled     dflash_config input_embedding_scale 2.0, output_multiplier 0.5, final_logit_softcapping 20.0 (z-lab applies
             them to DFlash too; vLLM's speculators-format path drops them, so a converter must refuse such a draft)
  qwen3-swa  layer_types [sliding_attention, full_attention], sliding_window 3 (use_sliding_window true: Qwen3Config
             sets sliding_window to None without it): layer 0 causal + window 3, layer 1 bidirectional
  dflash2    dflash.model.DFlash2DraftModel (conv_kernel_size 2, conv_group_size 8, selector_rank 16, selector_top_k 4):
             every layer's attention_conv / mlp_conv and the candidate selector; its save_pretrained writes the
             codebooks as candidate_selector.{predecessor,successor}_codebook.weight (they are nn.Embeddings)
  dflash2-published  the same draft with the codebooks under the bare names z-lab's published checkpoints use
             (candidate_selector.predecessor_codebook, as in z-lab/dflash tests/fixtures/dflash2-safetensors-header.json),
             reloaded through DFlash2DraftModel.from_pretrained's own key_mapping
  all        every variant, and OUT_DIR/index.json

What it writes under OUT_DIR, per variant V:
  V/                       the draft as z-lab's save_pretrained writes it: config.json + model.safetensors, nothing else
  V.reference.safetensors  inputs and z-lab's outputs (see REFERENCE_DOC), beside the draft directory
  V.fixture.json           versions, config as saved, tensor names/shapes, the inputs' semantics, checks, timings
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
dir_listing, tensor_seed = _common.dir_listing, _common.tensor_seed

os.environ.setdefault("HF_HUB_OFFLINE", "1")

H, HEADS, KV_HEADS, HEAD_DIM, INTER, VOCAB, EPS, ROPE_THETA = 32, 4, 2, 8, 64, 128, 1e-6, 1e6
DRAFT_LAYERS, VERIFIER_LAYERS = 2, 8
TARGET_LAYER_IDS = [1, 4]  # z-lab convention: output of verifier decoder layer k = HF hidden_states[k + 1]
AUX_IDS = [k + 1 for k in TARGET_LAYER_IDS]  # vLLM / Speculators aux_hidden_state_layer_ids: [2, 5]
BLOCK, MASK_TOKEN_ID = 4, VOCAB - 1
B, C = 3, 6  # batch rows, context tokens per row
OFFSETS = (0, 7, 19)  # per-row position offset: row b has context b0..b0+C-1, block b0+C..b0+C+BLOCK-1
NORM_SPREAD = 0.3  # norm weights 1 + 0.3*randn

VARIANTS = {
    "plain": {},
    "causal": {"is_causal": True},
    "scaled": {"dflash_config": {"input_embedding_scale": 2.0, "output_multiplier": 0.5,
                                 "final_logit_softcapping": 20.0}},
    "qwen3-swa": {"layer_types": ["sliding_attention", "full_attention"], "use_sliding_window": True,
                  "sliding_window": 3},
    "dflash2": {"dflash_config": {"conv_kernel_size": 2, "conv_group_size": 8, "selector_rank": 16, "selector_top_k": 4}},
    "dflash2-published": {"dflash_config": {"conv_kernel_size": 2, "conv_group_size": 8, "selector_rank": 16,
                                            "selector_top_k": 4}},
}
DFLASH2 = ("dflash2", "dflash2-published")

REFERENCE_DOC = {
    "verifier_embed": f"float32 [{VOCAB},{H}]: the verifier's input embedding (random; the draft has none of its own)",
    "verifier_head": f"float32 [{VOCAB},{H}]: the verifier's lm_head weight (random; the draft has none of its own)",
    "aux_hidden_states": f"float32 [{B},{C},{len(AUX_IDS) * H}]: what z-lab calls target_hidden: its "
                         "extract_context_feature(hidden_states, target_layer_ids) of a random HF-style hidden_states "
                         f"tuple ({VERIFIER_LAYERS + 1} entries, 0 = embeddings), i.e. cat(hidden_states[k + 1] for k in "
                         f"target_layer_ids {TARGET_LAYER_IDS}) = cat(aux states {AUX_IDS}) in the vLLM / Speculators "
                         "aux_hidden_state_layer_ids convention (the residual stream entering layer id), in that order; "
                         "row b, column t = the verifier state of the context token at position_ids[b, t]",
    "block_ids": f"int64 [{B},{BLOCK}]: the query block, [anchor, mask_token_id x {BLOCK - 1}], anchor random per row "
                 f"(< {MASK_TOKEN_ID}); the anchor sits at position_ids[b, {C}]",
    "position_ids": f"int64 [{B},{C + BLOCK}]: z-lab's forward position_ids: columns 0..{C - 1} the context positions, "
                    f"columns {C}..{C + BLOCK - 1} the block positions; row b = offset_b + arange({C + BLOCK}), "
                    f"offsets {list(OFFSETS)}; every context position < the anchor's (all context visible)",
    "noise_embedding": f"float32 [{B},{BLOCK},{H}]: z-lab's _raw_input_embeddings(verifier, block_ids, "
                       "input_embedding_scale) = verifier_embed[block_ids] * input_embedding_scale (the forward input)",
    "hidden": f"float32 [{B},{BLOCK},{H}]: DFlashDraftModel.forward(position_ids, noise_embedding=..., "
              "target_hidden=aux_hidden_states) with attention_mask None (z-lab then builds the masks it wants): "
              "the block's states after the draft's final norm, from the draft reloaded with from_pretrained",
    "logits": f"float32 [{B},{BLOCK},{VOCAB}]: compute_logits(hidden, verifier head) on ALL block positions "
              "(head, then * output_multiplier, then final_logit_softcapping when set)",
    "mask_logits": f"float32 [{B},{BLOCK - 1},{VOCAB}]: logits[:, 1:], the mask slots: what z-lab's dflash_generate "
                   "samples (slot j predicts the token at position_ids[b, C + j])",
    "selector_path": f"int64 [{B},{BLOCK - 1}] (dflash2 only): DFlash2DraftModel.propose(hidden[:, 1:], anchor, verifier "
                     "head, temperature 0)[0]: the candidate selector's greedy walk over the mask slots, the anchor as the "
                     "first predecessor (what dflash_generate drafts for DFlash2)",
    "selector_candidates": f"int64 [{B},{BLOCK - 1},top_k] (dflash2 only): propose(...)[1]: each slot's top-k candidates "
                           "(torch.topk(sorted=False) order)",
}


def draft_config(variant: str):
    from transformers import Qwen3Config

    extra = {k: v for k, v in VARIANTS[variant].items() if k != "dflash_config"}
    extra.setdefault("layer_types", ["full_attention"] * DRAFT_LAYERS)
    dcfg = {"block_size": BLOCK, "mask_token_id": MASK_TOKEN_ID, "target_layer_ids": TARGET_LAYER_IDS,
            **VARIANTS[variant].get("dflash_config", {})}
    return Qwen3Config(
        architectures=["DFlash2DraftModel" if variant in DFLASH2 else "DFlashDraftModel"], hidden_size=H, intermediate_size=INTER, num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM, num_hidden_layers=DRAFT_LAYERS, vocab_size=VOCAB,
        max_position_embeddings=256, rms_norm_eps=EPS,
        rope_parameters={"rope_theta": ROPE_THETA, "rope_type": "default"},
        num_target_layers=VERIFIER_LAYERS,  # z-lab evaluates build_target_layer_ids(num_target_layers, ...) eagerly
        dflash_config=dcfg, tie_word_embeddings=False, **extra)


def seed_weights(model, seed: int):
    """One generator per tensor name (the same weights in every variant); norms 1 + 0.3*randn, Linear randn/sqrt(in),
    the selector's codebooks randn."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            g = torch.Generator().manual_seed(tensor_seed(seed, name))
            r = torch.randn(p.shape, generator=g)
            # codebooks at unit scale, so that the selector's pairwise term is the size of the logits' gaps and its
            # walk picks other tokens than the argmax (the fixture then shows a judge that ignores the selector)
            p.copy_(1 + NORM_SPREAD * r if p.ndim == 1 else r if "codebook" in name else r / p.shape[1] ** 0.5)


def make_inputs(seed: int):
    """The inputs every variant shares (seeded per name)."""
    import torch

    def gen(name):
        return torch.Generator().manual_seed(tensor_seed(seed, name))

    hidden_states = tuple(torch.randn(B, C, H, generator=gen(f"hidden_states.{i}")) for i in range(VERIFIER_LAYERS + 1))
    anchor = torch.randint(0, MASK_TOKEN_ID, (B,), generator=gen("anchor"))
    block_ids = torch.full((B, BLOCK), MASK_TOKEN_ID, dtype=torch.long)
    block_ids[:, 0] = anchor
    position_ids = torch.stack([o + torch.arange(C + BLOCK) for o in OFFSETS])
    return {"hidden_states": hidden_states, "block_ids": block_ids, "position_ids": position_ids,
            "verifier_embed": torch.randn(VOCAB, H, generator=gen("verifier_embed")),
            "verifier_head": torch.randn(VOCAB, H, generator=gen("verifier_head"))}


def make_verifier(inputs):
    """A stand-in verifier with what z-lab's helpers read: get_input_embeddings() and lm_head."""
    import torch

    class Verifier(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed_tokens = torch.nn.Embedding(VOCAB, H)
            self.lm_head = torch.nn.Linear(H, VOCAB, bias=False)

        def get_input_embeddings(self):
            return self.embed_tokens

    v = Verifier().eval()
    with torch.no_grad():
        v.embed_tokens.weight.copy_(inputs["verifier_embed"])
        v.lm_head.weight.copy_(inputs["verifier_head"])
    return v


def zlab_run(model, verifier, inputs, aux, rows=slice(None), position_ids=None):
    """z-lab's own calls, as its dflash_generate makes them: embed the block, forward, compute_logits."""
    import torch
    from dflash.model import _draft_value, _output_head, _raw_input_embeddings

    scale = float(_draft_value(model.config, "input_embedding_scale", 1.0))
    noise = _raw_input_embeddings(verifier, inputs["block_ids"][rows], scale)
    pos = inputs["position_ids"][rows] if position_ids is None else position_ids
    with torch.no_grad():
        hidden = model(position_ids=pos, noise_embedding=noise, target_hidden=aux[rows])
        logits = model.compute_logits(hidden, _output_head(verifier))
        mask_logits_zlab = model.compute_logits(hidden[:, 1:], _output_head(verifier))  # dflash_generate's slice
    return noise, hidden, logits, mask_logits_zlab


def zlab_visible(layer: dict) -> list[str]:
    """Per block row, which of the C context + BLOCK block columns z-lab's attention lets it see ('1' = visible): its own
    _attention_mask when the layer is causal or sliding, else no mask (all visible), as Qwen3DFlashAttention.forward."""
    import torch
    from dflash.model import _attention_mask

    if not (layer["is_causal"] or layer["sliding_window"] is not None):
        return ["1" * (C + BLOCK)] * BLOCK
    m = _attention_mask(torch.empty(1, 1, BLOCK, 1), torch.empty(1, 1, C + BLOCK, 1),
                        is_causal=layer["is_causal"], sliding_window=layer["sliding_window"])[0, 0]
    return ["".join("1" if v else "0" for v in row.tolist()) for row in m]


def maxabs(a, b) -> float:
    return (a - b).abs().max().item()


def make_one(out: str, variant: str, seed: int) -> dict:
    import torch
    from importlib.metadata import version
    from safetensors.torch import save_file

    from dflash.model import DFlash2DraftModel, DFlashDraftModel, _output_head, extract_context_feature
    from safetensors.torch import load_file

    cls = DFlash2DraftModel if variant in DFLASH2 else DFlashDraftModel

    timings = {}
    t_all = t0 = time.time()
    draft_dir = os.path.join(out, variant)
    if os.path.isdir(draft_dir) and set(os.listdir(draft_dir)) - {"config.json", "model.safetensors"}:
        sys.exit(f"{draft_dir} holds other files than config.json / model.safetensors; remove it first")
    os.makedirs(draft_dir, exist_ok=True)

    model = cls(draft_config(variant)).eval()
    seed_weights(model, seed)
    model.save_pretrained(draft_dir)  # the producer's way (transformers PreTrainedModel.save_pretrained)
    files = sorted(os.listdir(draft_dir))
    assert files == ["config.json", "model.safetensors"], files
    if variant == "dflash2-published":  # the codebooks under their published (bare) names
        path = os.path.join(draft_dir, "model.safetensors")
        saved = load_file(path)
        renamed = {k.removesuffix(".weight") if k.startswith("candidate_selector.") and "codebook" in k else k: v
                   for k, v in saved.items()}
        assert len(renamed) == len(saved) and "candidate_selector.predecessor_codebook" in renamed, sorted(saved)
        save_file(renamed, path, metadata={"format": "pt"})
    timings["build_save_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    reloaded, loading_info = cls.from_pretrained(draft_dir, output_loading_info=True)
    reloaded = reloaded.eval()
    sd, sd2 = model.state_dict(), reloaded.state_dict()
    reload_equal = sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd)
    assert reload_equal, f"{variant}: from_pretrained did not give back the saved weights bit-exactly"
    assert not any(loading_info.get(k) for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), loading_info
    layers = [{"is_causal": m.self_attn.is_causal, "sliding_window": m.self_attn.sliding_window}
              for m in reloaded.layers]
    for layer in layers:  # the mask z-lab's own _attention_mask builds for it (what its attention does with None)
        layer["visible"] = zlab_visible(layer)
    assert [{k: v for k, v in x.items() if k != "visible"} for x in layers] == [
        {"is_causal": m.self_attn.is_causal, "sliding_window": m.self_attn.sliding_window} for m in model.layers], layers
    timings["reload_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    inputs = make_inputs(seed)
    verifier = make_verifier(inputs)
    aux = extract_context_feature(list(inputs["hidden_states"]), reloaded.target_layer_ids)  # z-lab's own
    assert torch.equal(aux, torch.cat([inputs["hidden_states"][i] for i in AUX_IDS], dim=-1))
    noise, hidden, logits, mask_logits_zlab = zlab_run(reloaded, verifier, inputs, aux)
    timings["forward_s"] = round(time.time() - t0, 3)

    checks = {}
    _, h0, l0, _ = zlab_run(model, verifier, inputs, aux)  # the model before saving
    checks["reload_forward_bit_exact"] = torch.equal(h0, hidden) and torch.equal(l0, logits)
    checks["mask_logits_vs_compute_logits_on_hidden_1_maxabs"] = maxabs(logits[:, 1:], mask_logits_zlab)
    # every row alone (batch 1, its own position ids): z-lab's forward is per row (RoPE per row of position_ids)
    checks["rows_alone_vs_batched_maxabs"] = max(
        maxabs(zlab_run(reloaded, verifier, inputs, aux, slice(b, b + 1))[2], logits[b: b + 1]) for b in range(B))
    # the same with every row at offset 0 (RoPE is relative, so this only moves float noise)
    zero = torch.arange(C + BLOCK).expand(B, -1)
    checks["offsets_vs_zero_offsets_logits_maxabs"] = maxabs(
        zlab_run(reloaded, verifier, inputs, aux, position_ids=zero)[2], logits)
    # what the variant changes: the same weights and inputs in the plain config (for `scaled`: what vLLM's
    # speculators path computes, which drops the three scale keys)
    if variant != "plain" and variant not in DFLASH2:
        plain = DFlashDraftModel(draft_config("plain")).eval()
        plain.load_state_dict(reloaded.state_dict())
        _, hp, lp, _ = zlab_run(plain, verifier, inputs, aux)
        checks["vs_plain_config_hidden_maxabs"] = maxabs(hp, hidden)
        checks["vs_plain_config_logits_maxabs"] = maxabs(lp, logits)
        checks["vs_plain_config_logits_maxabs_per_slot"] = [maxabs(lp[:, j], logits[:, j]) for j in range(BLOCK)]
    for k, v in checks.items():
        if k.endswith("vs_batched_maxabs") or k.startswith("mask_logits_vs"):
            assert v < 1e-5, (variant, k, v)
    assert checks["reload_forward_bit_exact"], variant

    ref = {"verifier_embed": inputs["verifier_embed"], "verifier_head": inputs["verifier_head"],
           "aux_hidden_states": aux, "block_ids": inputs["block_ids"], "position_ids": inputs["position_ids"],
           "noise_embedding": noise, "hidden": hidden, "logits": logits, "mask_logits": logits[:, 1:]}
    if variant in DFLASH2:  # the candidate selector's greedy walk, as dflash_generate calls it
        with torch.no_grad():
            path, candidates, _ = reloaded.propose(hidden[:, 1:], inputs["block_ids"][:, 0], _output_head(verifier), 0.0)
        ref |= {"selector_path": path, "selector_candidates": candidates}
        checks["selector_path_differs_from_argmax"] = int((path != logits[:, 1:].argmax(-1)).sum())
        assert checks["selector_path_differs_from_argmax"] > 0, "the selector changes nothing on this fixture"
    ref = {k: v.contiguous().clone() for k, v in ref.items()}
    ref_path = os.path.join(out, f"{variant}.reference.safetensors")
    save_file(ref, ref_path, metadata={"producer": f"dflash {version('dflash')}", "variant": variant})

    listing = dir_listing(draft_dir)
    info = {
        "variant": variant,
        "seed": seed,
        "versions": {p: version(p) for p in ("dflash", "torch", "transformers", "safetensors")},
        "draft_dir": draft_dir,
        "files": listing["files"],
        "config": listing["config.json"],
        "saved_tensors": {k: [v["shape"], v["dtype"]] for k, v in listing["tensors"].items()},
        "zlab_layers": layers,  # how z-lab's Qwen3DFlashAttention read the config, per draft layer, and its mask
        "reference_file": ref_path,
        "reference": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in ref.items()},
        "reference_doc": REFERENCE_DOC,
        "inputs": {
            "batch": B, "context": C, "block_size": BLOCK, "mask_token_id": MASK_TOKEN_ID, "position_offsets": OFFSETS,
            "context_positions": "offset_b + 0..5", "block_positions": "offset_b + 6..9 (anchor at offset_b + 6)",
            "zlab_target_layer_ids": TARGET_LAYER_IDS, "hf_hidden_states_indices": AUX_IDS,
            "speculators_aux_hidden_state_layer_ids": AUX_IDS,
            "aux_convention": "z-lab target_layer_ids k = HF hidden_states[k+1] = vLLM/Speculators aux id k+1",
            "attention": "every block row sees all C context rows (K/V from fc+hidden_norm of aux, each layer's own "
                         "k_proj/k_norm/v_proj, RoPE at the context positions) and the block rows its layer allows: "
                         "all of them (full, not causal), those at or before it (causal), within the window (sliding; "
                         "z-lab's window counts indices in the concatenated [context; block] sequence, so it also "
                         "cuts the context)",
        },
        "checks": checks,
        "timings": {**timings, "total_s": round(time.time() - t_all, 3)},
    }
    with open(os.path.join(out, f"{variant}.fixture.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    diff = checks.get("vs_plain_config_logits_maxabs")
    kinds = ["causal" if x["is_causal"] else "bidirectional" for x in layers]
    kinds = [k + (f" window {x['sliding_window']}" if x["sliding_window"] else "") for k, x in zip(kinds, layers)]
    print(f"{variant}: {draft_dir} ({len(info['saved_tensors'])} tensors; layers {kinds}; "
          f"{'vs plain %.3g; ' % diff if diff is not None else ''}{info['timings']['total_s']} s)")
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--variant", choices=[*VARIANTS, "all"], default="plain")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    import torch
    import dflash
    from transformers.utils import logging as hf_logging

    if not os.path.abspath(dflash.__file__).startswith(sys.prefix):
        sys.exit(f"imported dflash from {dflash.__file__}, not from the venv {sys.prefix}; run VENV/bin/python -I")
    assert not torch.cuda.is_available(), "expected the CPU torch"
    torch.set_num_threads(1)
    hf_logging.disable_progress_bar()  # save_pretrained / from_pretrained progress bars
    import_s = round(time.time() - t0, 2)
    out = os.path.abspath(args.out_dir)
    os.makedirs(out, exist_ok=True)
    names = list(VARIANTS) if args.variant == "all" else [args.variant]
    index = {name: make_one(out, name, args.seed) for name in names}
    if args.variant == "all":
        with open(os.path.join(out, "index.json"), "w") as f:
            json.dump({"import_s": import_s, "total_s": round(time.time() - t0, 2), "variants": index}, f, indent=1)
            f.write("\n")
    print(f"zlab_dflash_fixture: {len(names)} variant(s) in {out} ({time.time() - t0:.1f} s, imports {import_s} s)")


if __name__ == "__main__":
    main()
