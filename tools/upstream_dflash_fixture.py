#!/usr/bin/env python
"""Build tiny DFlash drafts with the upstream `speculators` 0.9 package (its from_training_args and save_pretrained) and
record the logits its own training forward computes for a block, as a judge.

    VENV/bin/python -I upstream_dflash_fixture.py OUT_DIR [--variant V|all] [--verifier DIR] [--seed S]

Run with the venv made by `producer_env.sh upstream` (speculators 0.9, CPU torch). -I: our own package is also named
`speculators`; the script checks that the one imported lives in the venv and is 0.9.x. Nothing of upstream is copied,
stubbed or patched:
  - the verifier is a tiny random transformers Llama (hidden 32, 4 heads / 2 kv, head_dim 8, intermediate 64, vocab
    128, 8 layers, rms_norm_eps 1e-5; embedding and lm_head randn), saved to OUT_DIR/verifier/, or --verifier DIR;
  - each draft is `speculators.models.dflash.DFlashDraftModel.from_training_args(cfg, verifier_name_or_path=verifier,
    draft_vocab_size=128, block_size=4, target_layer_ids=[2, 5], mask_token_id=127)`, where cfg is the verifier's
    config with num_hidden_layers = the draft's layers (what its docstring asks for; the copy keeps model_type llama).
    from_training_args loads the verifier's embedding and lm_head into the draft (load_verifier_weights); the other
    weights are then seeded (norms 1 + 0.3*randn, so a missing norm shows) and the draft saved with its
    save_pretrained. It is reloaded with upstream's SpeculatorModel.from_pretrained, which must give it back exactly;
  - the logits are those of upstream's own training forward, DFlashDraftModel.forward (the packed, anchored-block
    path: select_anchors, create_anchor_block_mask_mod, flex attention), read with forward hooks on its `norm` and
    `lm_head` modules (the forward itself returns only the loss and metrics). The 3 rows are packed the way its trainer
    packs documents (see PACKING); the loss mask marks only the anchors, so its random anchor choice has no choice.
    The checks (V.fixture.json) probe the attention numerically; one of them (never the reference) adds 1.0 to the
    last block slot's embedding with a hook on embed_tokens, since upstream always fills the slots with mask_token_id.

Variants (the same seeded weights in all of them, one generator per tensor name):
  L1      1 full-attention layer, upstream defaults (it saves sliding_window_non_causal false)
  L2      2 full-attention layers
  L1-swa  1 layer with layer_types [sliding_attention], sliding_window 3 (set on the config the way upstream's
          train.cli.create_transformer_layer_config does: layer_types, sliding_window, use_sliding_window; that module
          is not importable in the venv, it needs pydantic_settings), sliding_window_non_causal left at its default
  all     every variant, and OUT_DIR/fixture.json

Contrast logits (not saved drafts; the same weights loaded into a sibling built by from_training_args):
  L1, L2: `logits_causal` -- upstream has no switch that makes a full-attention layer causal (create_anchor_block_mask_mod:
          "Always use non_causal for full attn"); its only causal mode is the sliding-window one, so the sibling has
          every layer sliding_attention with a window (1024) that cuts nothing, sliding_window_non_causal false. The same
          sibling with sliding_window_non_causal true must give back `logits` (checked): only in-block causality differs.
  L1-swa: `logits_noncausal` -- the same draft with upstream's switch sliding_window_non_causal true.

What it writes under OUT_DIR: verifier/ (unless --verifier); per variant V: V/ (only what upstream's save_pretrained
writes: config.json, config.py, model.safetensors), V.reference.safetensors beside it (never inside: vLLM reads every
*.safetensors of a draft directory), V.fixture.json (versions, config as saved, tensors, semantics, checks, timings);
with --variant all, also fixture.json (the index).
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

H, HEADS, KV_HEADS, HEAD_DIM, INTER, VOCAB, EPS = 32, 4, 2, 8, 64, 128, 1e-5
VERIFIER_LAYERS = 8
AUX_IDS = [2, 5]  # upstream's convention (from_training_args target_layer_ids == saved aux_hidden_state_layer_ids)
ZLAB_TARGET_LAYER_IDS = [i - 1 for i in AUX_IDS]  # [1, 4]: upstream's converter maps z-lab k -> k + 1
BLOCK, MASK_TOKEN_ID = 4, VOCAB - 1
B, C = 3, 6  # rows, context tokens per row
OFFSETS = (0, 7, 19)  # per-row position offset: context offset_b + 0..5, block offset_b + 6..9 (anchor at offset_b + 6)
DOC = C + BLOCK  # packed document length per row: C context positions, the anchor's position, BLOCK-1 more
PAD = BLOCK  # select_anchors never anchors in the last block_size packed positions: a padding document (id -1) ends it
NORM_SPREAD = 0.3
SWA_WINDOW = 3
NO_CUT_WINDOW = 1024  # the contrast siblings' window: larger than every packed sequence here
SAVED_FILES = ["config.json", "config.py", "model.safetensors"]  # what upstream's save_pretrained writes (config.py: its
# auto_map target, the config class source)
VERIFIER_OWNED = ("embed_tokens.weight", "lm_head.weight", "verifier_lm_head.weight", "verifier_norm.weight")

VARIANTS = {
    "L1": {"layers": 1},
    "L2": {"layers": 2},
    "L1-swa": {"layers": 1, "layer_types": ["sliding_attention"], "sliding_window": SWA_WINDOW},
}

PACKING = (
    f"upstream's forward takes one packed sequence [1, T]. Row b is document b: packed indices b*{DOC} .. b*{DOC}+{DOC - 1}, "
    f"document_ids b, position_ids offset_b + 0..{DOC - 1}; hidden_states there = aux_hidden_states[b] (columns "
    f"0..{C - 1}) then {BLOCK} filler rows (the anchor's own and later verifier states: random, never visible, checked); "
    f"input_ids there = random context tokens, then block_ids[b, 0] (the anchor) at column {C}, then random; "
    f"loss_mask 1 only at column {C} (the anchor). A padding document of {PAD} positions (document_ids -1, loss_mask 0) "
    f"ends the sequence (T = {B * DOC + PAD}), since select_anchors never picks the last block_size positions. "
    f"max_anchors = {B}, so select_anchors picks exactly the {B} anchors, sorted: row order. verifier_last_hidden_states "
    "(the distillation targets only) is random."
)

REFERENCE_DOC = {
    "verifier_embed": f"float32 [{VOCAB},{H}]: the verifier's model.embed_tokens.weight (randn), which upstream loads "
                      "into the draft's embed_tokens (never saved in the draft)",
    "verifier_head": f"float32 [{VOCAB},{H}]: the verifier's lm_head.weight (randn), which upstream loads into the draft's "
                     "lm_head (full vocab: not saved in the draft)",
    "aux_hidden_states": f"float32 [{B},{C},{len(AUX_IDS) * H}]: what the draft's fc reads, cat(aux state {AUX_IDS[0]}, "
                         f"aux state {AUX_IDS[1]}) in upstream's aux_hidden_state_layer_ids convention (id L = the "
                         "verifier's residual stream entering decoder layer L = HF hidden_states[L], 0 = embeddings; "
                         f"z-lab target_layer_ids {ZLAB_TARGET_LAYER_IDS}); random; row b, column t = the state of the "
                         "context token at position_ids[b, t]",
    "block_ids": f"int64 [{B},{BLOCK}]: the query block [anchor, {MASK_TOKEN_ID} x {BLOCK - 1}]; upstream builds it "
                 "itself (mask_token_ids[:, ::block_size] = input_ids[anchor]); anchor random < mask_token_id",
    "position_ids": f"int64 [{B},{C + BLOCK}]: columns 0..{C - 1} the context positions, columns {C}..{C + BLOCK - 1} the "
                    f"block positions (upstream: position_ids[anchor] + arange(block_size)); row b = offset_b + "
                    f"arange({C + BLOCK}), offsets {list(OFFSETS)}; the anchor sits at column {C}",
    "hidden": f"float32 [{B},{BLOCK},{H}]: the block's states after the draft's final norm (hook on model.norm)",
    "logits": f"float32 [{B},{BLOCK},{VOCAB}]: upstream's logits (hook on model.lm_head) at every block slot: slot 0 = "
              f"the anchor (position_ids[b, {C}]; unsupervised by upstream with sample_from_anchor false), slot j >= 1 = "
              f"mask token j, trained to predict the token at position_ids[b, {C} + j] (core.py targets: "
              "verifier logits at anchored index - 1). Every slot sees all context columns t < anchor (sliding "
              f"layers: only the last sliding_window of them) and the block slots its layer allows",
    "mask_logits": f"float32 [{B},{BLOCK - 1},{VOCAB}]: logits[:, 1:], the slots a drafter samples (speculative_tokens "
                   f"= block_size - 1 = {BLOCK - 1})",
    "logits_causal": f"float32 [{B},{BLOCK},{VOCAB}] (L1, L2): the same weights and inputs, in-block causal (sibling "
                     f"config: every layer sliding_attention, window {NO_CUT_WINDOW} which cuts nothing, "
                     "sliding_window_non_causal false): upstream's only causal mode",
    "logits_noncausal": f"float32 [{B},{BLOCK},{VOCAB}] (L1-swa): the same draft with sliding_window_non_causal true",
}


def draft_layer_config(verifier_dir: str, variant: dict, layer_types=None, sliding_window=None):
    """The verifier's config with num_hidden_layers = the draft's (what from_training_args's docstring asks for)."""
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(verifier_dir)
    cfg.num_hidden_layers = variant["layers"]
    layer_types = layer_types or variant.get("layer_types")
    if layer_types:  # as upstream's train.cli.create_transformer_layer_config sets them
        cfg.layer_types = list(layer_types)
        cfg.sliding_window = sliding_window or variant["sliding_window"]
        cfg.use_sliding_window = "sliding_attention" in layer_types
    return cfg


def build_draft(verifier_dir: str, cfg, **extra):
    from speculators.models.dflash import DFlashDraftModel

    return DFlashDraftModel.from_training_args(
        cfg, verifier_name_or_path=verifier_dir, draft_vocab_size=VOCAB, block_size=BLOCK,
        target_layer_ids=list(AUX_IDS), mask_token_id=MASK_TOKEN_ID, **extra).eval()


def seed_weights(model, seed: int):
    """Every draft-owned parameter: norms (1-D) 1 + 0.3*randn, matrices randn/sqrt(in); one generator per tensor name.
    The verifier-owned ones (embedding, heads, verifier_norm) keep what from_training_args loaded from the verifier."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in VERIFIER_OWNED:
                continue
            g = torch.Generator().manual_seed(tensor_seed(seed, name))
            r = torch.randn(p.shape, generator=g)
            p.copy_(1 + NORM_SPREAD * r if p.ndim == 1 else r / p.shape[1] ** 0.5)


def make_verifier(path: str, seed: int):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(hidden_size=H, intermediate_size=INTER, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS,
                      head_dim=HEAD_DIM, num_hidden_layers=VERIFIER_LAYERS, vocab_size=VOCAB, rms_norm_eps=EPS,
                      max_position_embeddings=256, tie_word_embeddings=False, architectures=["LlamaForCausalLM"])
    torch.manual_seed(seed)
    v = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():
        for name in ("model.embed_tokens.weight", "lm_head.weight"):
            p = v.get_parameter(name)
            p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(tensor_seed(seed, "verifier." + name))))
        v.model.norm.weight.copy_(1 + NORM_SPREAD * torch.randn(H, generator=torch.Generator().manual_seed(
            tensor_seed(seed, "verifier.model.norm.weight"))))
    v.save_pretrained(path)


def verifier_tensors(path: str):
    from safetensors.torch import load_file

    sd = {}
    for f in sorted(os.listdir(path)):
        if f.endswith(".safetensors"):
            sd.update(load_file(os.path.join(path, f)))
    return sd


def make_inputs(seed: int):
    import torch

    def gen(name):
        return torch.Generator().manual_seed(tensor_seed(seed, "inputs." + name))

    anchor = torch.randint(0, MASK_TOKEN_ID, (B,), generator=gen("anchor"))
    block_ids = torch.full((B, BLOCK), MASK_TOKEN_ID, dtype=torch.long)
    block_ids[:, 0] = anchor
    return {
        "aux_hidden_states": torch.randn(B, C, len(AUX_IDS) * H, generator=gen("aux_hidden_states")),
        "filler_hidden_states": torch.randn(B, BLOCK, len(AUX_IDS) * H, generator=gen("filler_hidden_states")),
        "context_ids": torch.randint(0, MASK_TOKEN_ID, (B, C), generator=gen("context_ids")),
        "filler_ids": torch.randint(0, MASK_TOKEN_ID, (B, BLOCK - 1), generator=gen("filler_ids")),
        "verifier_last": torch.randn(B * DOC + PAD, H, generator=gen("verifier_last")),
        "block_ids": block_ids,
        "position_ids": torch.stack([o + torch.arange(C + BLOCK) for o in OFFSETS]),
    }


def pack(inp, rows=None, position_ids=None):
    """The rows as upstream's trainer packs documents (see PACKING)."""
    import torch

    rows = list(range(B)) if rows is None else list(rows)
    pos = inp["position_ids"] if position_ids is None else position_ids
    hs, ids, lm, doc, ps = [], [], [], [], []
    for d, b in enumerate(rows):
        hs.append(torch.cat([inp["aux_hidden_states"][b], inp["filler_hidden_states"][b]]))
        ids.append(torch.cat([inp["context_ids"][b], inp["block_ids"][b, :1], inp["filler_ids"][b]]))
        m = torch.zeros(DOC); m[C] = 1
        lm.append(m)
        doc.append(torch.full((DOC,), d, dtype=torch.long))
        ps.append(pos[b])
    hs.append(torch.zeros(PAD, len(AUX_IDS) * H)); ids.append(torch.zeros(PAD, dtype=torch.long))
    lm.append(torch.zeros(PAD)); doc.append(torch.full((PAD,), -1, dtype=torch.long)); ps.append(torch.arange(PAD))
    T = len(rows) * DOC + PAD
    return {"hidden_states": torch.cat(hs)[None], "input_ids": torch.cat(ids)[None], "loss_mask": torch.cat(lm)[None],
            "verifier_last_hidden_states": inp["verifier_last"][:T][None], "document_ids": torch.cat(doc)[None],
            "position_ids": torch.cat(ps)[None]}, len(rows)


def upstream_run(model, inp, rows=None, position_ids=None, embed_probe=None):
    """upstream's DFlashDraftModel.forward on the packed rows; hidden and logits read with hooks on its norm / lm_head.
    embed_probe (a probe only, never for the reference): a function applied to the block embeddings (hook output of
    embed_tokens), to perturb a later block slot and see which earlier slots move."""
    import torch

    got, hooks = {}, []
    hooks.append(model.norm.register_forward_hook(lambda m, a, o: got.__setitem__("hidden", o.detach().clone())))
    hooks.append(model.lm_head.register_forward_hook(lambda m, a, o: got.__setitem__("logits", o.detach().clone())))
    if embed_probe is not None:
        hooks.append(model.embed_tokens.register_forward_hook(lambda m, a, o: embed_probe(o)))
    packed, n = pack(inp, rows, position_ids)
    # the kwargs upstream's trainer passes to forward (its default dflash loss "ce"; "eager": the fused losses need
    # Triton), with max_anchors = the rows
    train_kwargs, _ = model.get_trainer_kwargs(loss_fn="ce", loss_implementation="eager")
    try:
        with torch.no_grad():
            _, loss, _ = model(**packed, **{**train_kwargs, "max_anchors": n})
    finally:
        for h in hooks:
            h.remove()
    assert torch.isfinite(loss), loss
    return got["hidden"].reshape(n, BLOCK, H).float(), got["logits"].reshape(n, BLOCK, VOCAB).float(), packed


def visibility(model, packed, n):
    """Which packed key columns each block slot of row 0 sees, from upstream's own mask_mod (create_anchor_block_mask_mod
    with the arguments its _build_attention_mask passes), per layer kind: 'c' = context column visible, '.' = not,
    then '|', then the block: 'b' = visible slot, '.' = not."""
    import torch
    from torch.nn.attention.flex_attention import create_mask
    from speculators.models.dflash.attention import create_anchor_block_mask_mod

    T = packed["hidden_states"].shape[1]
    anchors = torch.tensor([d * DOC + C for d in range(n)])
    out = {}
    kinds = {"full_attention": (None, False)} if model.uses_full_attn else {}
    if model.uses_sliding_window_attn:
        kinds["sliding_attention"] = (model.sliding_window, model.sliding_window_non_causal)
    for kind, (window, non_causal) in kinds.items():
        mod, q_len, kv_len = create_anchor_block_mask_mod(packed["document_ids"][0], T, anchors, BLOCK, window, non_causal)
        m = create_mask(mod, None, None, q_len, kv_len, device="cpu")[0, 0]
        out[kind] = ["".join("c" if m[q, k] else "." for k in range(DOC)) + "|" +
                     "".join("b" if m[q, T + k] else "." for k in range(BLOCK)) for q in range(BLOCK)]
        assert not m[:BLOCK, DOC:T].any() and not m[:BLOCK, T + BLOCK:].any(), kind  # nothing outside row 0
    return out


def maxabs(a, b) -> float:
    return (a - b).abs().max().item()


def slot_diffs(a, b):
    return [round(maxabs(a[:, j], b[:, j]), 7) for j in range(BLOCK)]


def make_one(out: str, verifier_dir: str, name: str, seed: int) -> dict:
    import torch
    from importlib.metadata import version
    from safetensors.torch import save_file
    from speculators import SpeculatorModel
    from speculators.models.dflash import DFlashDraftModel

    variant = VARIANTS[name]
    timings = {}
    t_all = t0 = time.time()
    draft_dir = os.path.join(out, name)
    if os.path.isdir(draft_dir) and set(os.listdir(draft_dir)) - set(SAVED_FILES):
        sys.exit(f"{draft_dir} holds other files than {', '.join(SAVED_FILES)}; remove it first")

    model = build_draft(verifier_dir, draft_layer_config(verifier_dir, variant))
    vsd = verifier_tensors(verifier_dir)
    assert torch.equal(model.embed_tokens.weight, vsd["model.embed_tokens.weight"])
    assert torch.equal(model.lm_head.weight, vsd["lm_head.weight"])
    seed_weights(model, seed)
    model.save_pretrained(draft_dir)
    files = sorted(os.listdir(draft_dir))
    assert files == SAVED_FILES, files
    timings["build_save_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    reloaded = SpeculatorModel.from_pretrained(draft_dir).eval()  # loads the verifier's embedding / head again
    assert type(reloaded) is DFlashDraftModel, type(reloaded)
    sd, sd2 = model.state_dict(), reloaded.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd), f"{name}: reload differs"
    timings["reload_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    inp = make_inputs(seed)
    hidden, logits, packed = upstream_run(reloaded, inp)
    timings["forward_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    checks = {}
    # the forward's own intermediate, for the record: _backbone_forward returns the logits forward hands to the loss
    with torch.no_grad():
        bb = reloaded._backbone_forward(**packed, max_anchors=B)
    assert torch.equal(bb[4], torch.tensor([d * DOC + C + j for d in range(B) for j in range(BLOCK)])), bb[4]
    checks["anchored_block_indices"] = bb[4].tolist()
    checks["backbone_forward_vs_hooked_forward_logits_maxabs"] = maxabs(bb[1].reshape(B, BLOCK, VOCAB), logits)
    _, l0, _ = upstream_run(model, inp)
    checks["saved_vs_reloaded_logits_bit_exact"] = torch.equal(l0, logits)
    checks["rows_alone_vs_packed_maxabs"] = max(maxabs(upstream_run(reloaded, inp, rows=[b])[1], logits[b:b + 1])
                                                for b in range(B))
    zero = torch.arange(C + BLOCK).expand(B, -1)
    checks["offsets_vs_zero_offsets_logits_maxabs"] = maxabs(upstream_run(reloaded, inp, position_ids=zero)[1], logits)
    # invisible: the anchor's own and later verifier states, the targets' hidden states
    p = {**inp, "filler_hidden_states": inp["filler_hidden_states"] + 5.0, "verifier_last": inp["verifier_last"] * -3}
    checks["filler_and_targets_changed_logits_maxabs"] = maxabs(upstream_run(reloaded, p)[1], logits)
    # document isolation: row 1's context does not reach row 0
    a = inp["aux_hidden_states"].clone(); a[1] += 5.0
    l_a = upstream_run(reloaded, {**inp, "aux_hidden_states": a})[1]
    checks["row1_context_changed_row0_logits_maxabs"] = maxabs(l_a[0], logits[0])
    checks["row1_context_changed_row1_logits_maxabs"] = maxabs(l_a[1], logits[1])
    # which context columns are seen: change column t of every row
    checks["context_column_changed_logits_maxabs"] = []
    for t in range(C):
        a = inp["aux_hidden_states"].clone(); a[:, t] += 5.0
        checks["context_column_changed_logits_maxabs"].append(
            round(maxabs(upstream_run(reloaded, {**inp, "aux_hidden_states": a})[1], logits), 7))

    # in-block attention probe: add to the block embedding of the LAST slot (a mask token); which slots move?
    def probe(o):
        o[:, BLOCK - 1:: BLOCK] += 1.0
    checks["last_slot_embedding_changed_logits_maxabs_per_slot"] = slot_diffs(
        upstream_run(reloaded, inp, embed_probe=probe)[1], logits)
    # attention implementation: upstream's eager path (create_float_mask) against its flex default
    eager = build_draft(verifier_dir, draft_layer_config(verifier_dir, variant), draft_attn_impl="eager")
    eager.load_state_dict(reloaded.state_dict())
    checks["eager_vs_flex_logits_maxabs"] = maxabs(upstream_run(eager, inp)[1], logits)

    ref = {"verifier_embed": vsd["model.embed_tokens.weight"], "verifier_head": vsd["lm_head.weight"],
           "aux_hidden_states": inp["aux_hidden_states"], "block_ids": inp["block_ids"],
           "position_ids": inp["position_ids"], "hidden": hidden, "logits": logits, "mask_logits": logits[:, 1:]}

    # contrast: the same weights, the other in-block causality
    if "layer_types" in variant:
        sib = build_draft(verifier_dir, draft_layer_config(verifier_dir, variant), sliding_window_non_causal=True)
        sib.load_state_dict(reloaded.state_dict())
        ref["logits_noncausal"] = upstream_run(sib, inp)[1]
        checks["noncausal_vs_logits_maxabs_per_slot"] = slot_diffs(ref["logits_noncausal"], logits)
        checks["noncausal_last_slot_embedding_changed_maxabs_per_slot"] = slot_diffs(
            upstream_run(sib, inp, embed_probe=probe)[1], ref["logits_noncausal"])
        contrast_vis = visibility(sib, packed, B)
    else:
        lt = ["sliding_attention"] * variant["layers"]
        sib_c = build_draft(verifier_dir, draft_layer_config(verifier_dir, variant, lt, NO_CUT_WINDOW))
        sib_c.load_state_dict(reloaded.state_dict())
        ref["logits_causal"] = upstream_run(sib_c, inp)[1]
        sib_n = build_draft(verifier_dir, draft_layer_config(verifier_dir, variant, lt, NO_CUT_WINDOW),
                            sliding_window_non_causal=True)
        sib_n.load_state_dict(reloaded.state_dict())
        checks["no_cut_window_noncausal_vs_logits_maxabs"] = maxabs(upstream_run(sib_n, inp)[1], logits)
        checks["causal_vs_logits_maxabs_per_slot"] = slot_diffs(ref["logits_causal"], logits)
        checks["causal_last_slot_embedding_changed_maxabs_per_slot"] = slot_diffs(
            upstream_run(sib_c, inp, embed_probe=probe)[1], ref["logits_causal"])
        contrast_vis = visibility(sib_c, packed, B)
    timings["checks_s"] = round(time.time() - t0, 3)

    tol = 1e-5
    assert checks["saved_vs_reloaded_logits_bit_exact"], name
    for k in ("backbone_forward_vs_hooked_forward_logits_maxabs", "rows_alone_vs_packed_maxabs",
              "offsets_vs_zero_offsets_logits_maxabs", "filler_and_targets_changed_logits_maxabs",
              "row1_context_changed_row0_logits_maxabs", "eager_vs_flex_logits_maxabs",
              "no_cut_window_noncausal_vs_logits_maxabs"):
        if k in checks:
            assert checks[k] < tol, (name, k, checks[k])
    probe_diffs = checks["last_slot_embedding_changed_logits_maxabs_per_slot"]
    in_block = "causal" if max(probe_diffs[:-1]) < tol else "bidirectional"
    assert in_block == ("causal" if "layer_types" in variant else "bidirectional"), (name, probe_diffs)
    seen = [i for i, d in enumerate(checks["context_column_changed_logits_maxabs"]) if d > tol]
    assert seen == (list(range(C - SWA_WINDOW, C)) if "layer_types" in variant else list(range(C))), (name, seen)

    ref = {k: v.contiguous().clone() for k, v in ref.items()}
    ref_path = os.path.join(out, f"{name}.reference.safetensors")
    save_file(ref, ref_path, metadata={"producer": f"speculators {version('speculators')}", "variant": name})

    listing = dir_listing(draft_dir)
    cfg = listing["config.json"]
    info = {
        "variant": name,
        "seed": seed,
        "versions": {p: version(p) for p in ("speculators", "torch", "transformers", "safetensors", "pydantic")},
        "verifier": verifier_dir,
        "draft_dir": draft_dir,
        "files": listing["files"],
        "config": cfg,
        "saved_tensors": {k: [v["shape"], v["dtype"]] for k, v in listing["tensors"].items()},
        "upstream_model": {  # how upstream's model read its config
            "layers": len(reloaded.layers), "sliding_window": reloaded.sliding_window,
            "sliding_window_indices": reloaded.sliding_window_indices,
            "sliding_window_non_causal": reloaded.sliding_window_non_causal,
            "attn_implementation": reloaded._attn_impl, "target_layer_ids": reloaded.target_layer_ids},
        "reference_file": ref_path,
        "reference": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in ref.items()},
        "reference_doc": {k: v for k, v in REFERENCE_DOC.items() if k in ref},
        "inputs": {
            "batch": B, "context": C, "block_size": BLOCK, "mask_token_id": MASK_TOKEN_ID, "position_offsets": OFFSETS,
            "context_positions": "offset_b + 0..5", "block_positions": "offset_b + 6..9 (anchor at offset_b + 6)",
            "from_training_args_target_layer_ids": AUX_IDS, "saved_aux_hidden_state_layer_ids":
                cfg.get("aux_hidden_state_layer_ids"), "zlab_target_layer_ids": ZLAB_TARGET_LAYER_IDS,
            "aux_convention": "from_training_args's target_layer_ids is saved verbatim as aux_hidden_state_layer_ids "
                              "(resolve_target_layer_ids accepts 0..num_layers): id L = residual stream entering "
                              "verifier layer L = HF hidden_states[L] = vLLM eagle_aux_hidden_state_layer_ids; "
                              "z-lab target_layer_ids = L - 1",
            "packing": PACKING,
        },
        "attention": {
            "observed_in_block": in_block,
            "visible_row0": visibility(reloaded, packed, B),
            "contrast_visible_row0": contrast_vis,
            "legend": f"per block slot of row 0: its {DOC} packed base columns (c = visible; columns {C}.. are the "
                      "anchor's own and later verifier states), '|', its block slots (b = visible)",
        },
        "checks": checks,
        "timings": {**timings, "total_s": round(time.time() - t_all, 3)},
    }
    with open(os.path.join(out, f"{name}.fixture.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"{name}: {draft_dir} ({len(info['saved_tensors'])} tensors; in-block {in_block}; context columns seen "
          f"{seen}; {info['timings']['total_s']} s)")
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--variant", choices=[*VARIANTS, "all"], default="all")
    ap.add_argument("--verifier", help="an existing verifier directory (config + safetensors) instead of a new one")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.time()
    import warnings
    from importlib.metadata import version

    import torch
    import speculators
    from transformers.utils import logging as hf_logging

    if not os.path.abspath(speculators.__file__).startswith(os.path.abspath(sys.prefix)):
        sys.exit(f"imported speculators from {speculators.__file__}, not from the venv {sys.prefix}; run VENV/bin/python -I")
    if not version("speculators").startswith("0.9."):
        sys.exit(f"upstream speculators 0.9.x expected, found {version('speculators')}")
    import speculators.models.dflash  # noqa: F401  (timed with the imports)
    warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")
    try:  # upstream logs every verifier-weight load with loguru at INFO
        from loguru import logger
        logger.remove()
        logger.add(sys.stderr, level="WARNING", filter=lambda r: "index.json` file not found" not in r["message"])
    except ImportError:
        pass
    torch.set_num_threads(4)
    hf_logging.disable_progress_bar()
    import_s = round(time.time() - t0, 2)

    out = os.path.abspath(args.out_dir)
    os.makedirs(out, exist_ok=True)
    t1 = time.time()
    if args.verifier:
        verifier_dir = os.path.abspath(args.verifier)
        from transformers import AutoConfig
        vc = AutoConfig.from_pretrained(verifier_dir)
        got = (vc.hidden_size, vc.vocab_size, vc.num_hidden_layers >= max(AUX_IDS))
        assert got == (H, VOCAB, True), f"--verifier must have hidden {H}, vocab {VOCAB}, >= {max(AUX_IDS)} layers: {got}"
    else:
        verifier_dir = os.path.join(out, "verifier")
        make_verifier(verifier_dir, args.seed)
    verifier_s = round(time.time() - t1, 2)

    names = list(VARIANTS) if args.variant == "all" else [args.variant]
    index = {name: make_one(out, verifier_dir, name, args.seed) for name in names}
    if args.variant == "all":
        summary = {
            "producer": "speculators (upstream) " + version("speculators"),
            "versions": {p: version(p) for p in ("speculators", "torch", "transformers", "safetensors")},
            "verifier": verifier_dir, "verifier_files": sorted(os.listdir(verifier_dir)),
            "timings": {"import_s": import_s, "verifier_s": verifier_s, "total_s": round(time.time() - t0, 2),
                        **{n: i["timings"] for n, i in index.items()}},
            "variants": {n: {"draft_dir": i["draft_dir"], "files": i["files"], "reference_file": i["reference_file"],
                             "reference": i["reference"], "in_block": i["attention"]["observed_in_block"],
                             "sliding_window_non_causal": i["config"].get("sliding_window_non_causal"),
                             "aux_hidden_state_layer_ids": i["config"].get("aux_hidden_state_layer_ids")}
                         for n, i in index.items()},
            "reference_doc": REFERENCE_DOC,
        }
        with open(os.path.join(out, "fixture.json"), "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
    print(f"upstream_dflash_fixture: {len(names)} variant(s) in {out} ({time.time() - t0:.1f} s, imports {import_s} s)")


if __name__ == "__main__":
    main()
