#!/usr/bin/env python
"""Build tiny DSpark and DFlash2 drafts with the upstream `speculators` 0.9 package (its from_training_args and
save_pretrained) and record what its own training forward computes for a block, as a judge.

    VENV/bin/python -I upstream_dspark_fixture.py OUT_DIR [--variant V|all] [--verifier DIR] [--seed S]

The sibling of upstream_dflash_fixture.py (upstream's DFlash), run the same way, with the venv made by
`producer_env.sh upstream` (speculators 0.9, CPU torch). -I: our own package is also named `speculators`; the script
checks that the one imported lives in the venv and is 0.9.x. Nothing of upstream is copied, stubbed or patched. What
this script shares with upstream_dflash_fixture.py it takes from that file, loaded by path (as tools/_producer_common.py
is): the tiny Llama verifier (make_verifier: hidden 32, 4 heads / 2 kv, head_dim 8, intermediate 64, vocab 128, 8
layers; saved to OUT_DIR/verifier/, or --verifier DIR), the draft layer config (the verifier's config with
num_hidden_layers = the draft's), the seeded inputs and the packing (PACKING), and upstream's mask read back
(visibility). So the backbone weights, inputs and packing are those of upstream_dflash_fixture.py's L1 / L2 drafts.

  - each draft is upstream's `DSparkDraftModel` / `DFlash2DraftModel.from_training_args(cfg, verifier_name_or_path=
    verifier, draft_vocab_size=128, block_size=4, target_layer_ids=[2, 5], mask_token_id=127, + the variant's keys)`;
    from_training_args loads the verifier's embedding and lm_head into the draft; the other weights are then seeded
    (one generator per tensor name, see seed_weights: the backbone exactly as upstream_dflash_fixture.py seeds it) and
    the draft saved with its save_pretrained, then reloaded with upstream's SpeculatorModel.from_pretrained, which must
    give it back exactly;
  - what upstream's training forward (DSparkDraftModel.forward / DFlash2DraftModel.forward, with the kwargs its
    get_trainer_kwargs gives for the trainer's default loss for these kinds, kl_div, eager implementation: the fused
    losses need Triton) computes is read while it runs: forward hooks on its modules (norm, lm_head, markov_head's
    markov_w1 / markov_w2, confidence_head; for the conv probe the layers' input_layernorm and self_attn), the loss
    callables the forward takes as arguments (loss_config's kl_div and tv_loss_fn: each wraps upstream's own eager
    function and records the (logits, targets) the forward hands it), and, for DFlash2's candidate selector (whose
    methods are not module forwards), a TorchFunctionMode that records the torch calls the forward makes (the index
    into predecessor_codebook / successor_codebook, the unary topk, the selector's cross_entropy) and changes nothing.
    The 3 rows are packed the way its trainer packs documents (PACKING); the loss mask marks only the anchors, so its
    random anchor choice has no choice.

Variants:
  dspark   1 full-attention layer, upstream's DSpark defaults (it saves sample_from_anchor true, sliding_window_non_causal
           false, enable_confidence_head true, confidence_head_with_markov true, markov_head_type vanilla), markov_rank 8.
           markov_w1 is seeded randn * MARKOV_W1_SCALE: the verifier head is randn, so the base logits have a std of
           about sqrt(hidden); the Markov bias then has about twice that, and changes the argmax in most slots (checked)
  dflash2  2 full-attention layers, conv_kernel_size 2, conv_group_size 8, selector_rank 16, selector_top_k 4, the other
           keys at upstream's DFlash2 defaults (it saves sliding_window_non_causal true, sample_from_anchor false)
  all      both, and OUT_DIR/fixture.json

What it writes under OUT_DIR: verifier/ (unless --verifier); per variant V: V/ (only what upstream's save_pretrained
writes: config.json, config.py, model.safetensors), V.reference.safetensors beside it (never inside: vLLM reads every
*.safetensors of a draft directory), V.fixture.json (versions, config.json as saved (parsed and verbatim), tensors,
semantics, answers, checks, timings); with --variant all, also fixture.json (the index).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name: str, filename: str):
    """A sibling tools/ file, by path: `python -I` leaves this directory off sys.path."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, filename))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_common = _load("_producer_common", "_producer_common.py")
dir_listing, tensor_seed = _common.dir_listing, _common.tensor_seed
# upstream_dflash_fixture.py: the same verifier, draft layer config, inputs, packing and mask read-back
_dflash = _load("_upstream_dflash_fixture", "upstream_dflash_fixture.py")
H, VOCAB, AUX_IDS, ZLAB_TARGET_LAYER_IDS = _dflash.H, _dflash.VOCAB, _dflash.AUX_IDS, _dflash.ZLAB_TARGET_LAYER_IDS
BLOCK, MASK_TOKEN_ID, B, C, DOC, OFFSETS = (_dflash.BLOCK, _dflash.MASK_TOKEN_ID, _dflash.B, _dflash.C, _dflash.DOC,
                                            _dflash.OFFSETS)
NORM_SPREAD, NO_CUT_WINDOW, SAVED_FILES = _dflash.NORM_SPREAD, _dflash.NO_CUT_WINDOW, _dflash.SAVED_FILES
VERIFIER_OWNED = _dflash.VERIFIER_OWNED
draft_layer_config, make_verifier, verifier_tensors = (_dflash.draft_layer_config, _dflash.make_verifier,
                                                        _dflash.verifier_tensors)
make_inputs, pack, visibility, maxabs, slot_diffs = (_dflash.make_inputs, _dflash.pack, _dflash.visibility,
                                                     _dflash.maxabs, _dflash.slot_diffs)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MARKOV_RANK = 8
MARKOV_W1_SCALE = 2 * H ** 0.5  # the Markov bias ~ N(0, 4 H) per logit, the base logits ~ N(0, H)
CONV_BASE_SPREAD = 0.5  # base_kernel = identity (tap 0 = 1, other taps 0) + 0.5 randn
SELECTOR_TOP_K = 4
LOSS_FN = "kl_div"  # upstream's trainer default for dspark and dflash2 (train/config/schema.py _DEFAULT_LOSS_FN)
TOL = 1e-5

VARIANTS = {
    "dspark": {"cls": "DSparkDraftModel", "module": "speculators.models.dspark", "layers": 1,
               "kwargs": {"markov_rank": MARKOV_RANK}},
    "dflash2": {"cls": "DFlash2DraftModel", "module": "speculators.models.dflash2", "layers": 2,
                "kwargs": {"conv_kernel_size": 2, "conv_group_size": 8, "selector_rank": 16,
                           "selector_top_k": SELECTOR_TOP_K}},
}

COMMON_DOC = {
    "verifier_embed": f"float32 [{VOCAB},{H}]: the verifier's model.embed_tokens.weight (randn), which upstream loads "
                      "into the draft's embed_tokens (never saved in the draft)",
    "verifier_head": f"float32 [{VOCAB},{H}]: the verifier's lm_head.weight (randn), which upstream loads into the draft's "
                     "lm_head (full vocab: not saved in the draft)",
    "aux_hidden_states": f"float32 [{B},{C},{len(AUX_IDS) * H}]: what the draft's fc reads, cat(aux state {AUX_IDS[0]}, "
                         f"aux state {AUX_IDS[1]}) in upstream's aux_hidden_state_layer_ids convention (id L = the "
                         "verifier's residual stream entering decoder layer L = HF hidden_states[L], 0 = embeddings; "
                         f"here HF hidden_states[{AUX_IDS[0]}] and [{AUX_IDS[1]}]; z-lab target_layer_ids "
                         f"{ZLAB_TARGET_LAYER_IDS}); random; row b, column t = the state of the context token at "
                         "position_ids[b, t]",
    "block_ids": f"int64 [{B},{BLOCK}]: the query block [anchor, {MASK_TOKEN_ID} x {BLOCK - 1}]; upstream builds it "
                 "itself (mask_token_ids[:, ::block_size] = input_ids[anchor]); anchor random < mask_token_id",
    "position_ids": f"int64 [{B},{C + BLOCK}]: columns 0..{C - 1} the context positions, columns {C}..{C + BLOCK - 1} the "
                    f"block positions (upstream: position_ids[anchor] + arange(block_size)); row b = offset_b + "
                    f"arange({C + BLOCK}), offsets {list(OFFSETS)}; the anchor sits at column {C}",
    "block_tokens": f"int64 [{B},{BLOCK}]: the document's own tokens at the block positions (column {C}.. of the packed "
                    "input_ids: the anchor, then the tokens that follow it), i.e. input_ids[anchored_block_indices]: what "
                    "upstream's teacher forcing reads as predecessors",
    "hidden": f"float32 [{B},{BLOCK},{H}]: the block's states after the draft's final norm (hook on model.norm)",
    "target_position_ids": f"int64 [{B},{BLOCK}]: the position of the token each slot is trained to predict: slot j's "
                           "target (from the targets the forward hands its loss) is the verifier's next-token logits at "
                           "packed index t_j (verifier_lm_head(verifier_norm(verifier_last_hidden_states[t_j]))), so "
                           "it predicts the token at position_ids[t_j] + 1",
    "slot_loss_weight": f"float32 [{BLOCK}]: the weight upstream's loss gives each slot of a block whose positions all "
                        "have loss_mask 1 (aligned_loss_mask of _backbone_forward, with every position of the block "
                        "marked, times dflash_loss_decay's fixed-exp-decay, gamma 4): 0 = not supervised",
}

DSPARK_DOC = {
    "base_logits": f"float32 [{B},{BLOCK},{VOCAB}]: the backbone's logits (hook on model.lm_head), before the Markov "
                   "bias; equal to upstream's DFlash with the same weights (checked)",
    "markov_prev_ids": f"int64 [{B},{BLOCK}]: the predecessor ids upstream's forward feeds markov_head (hook on "
                       "markov_w1's input): with sample_from_anchor true, slot j's predecessor is the document token at "
                       "the slot's own position (block_tokens[:, j]; teacher forcing: the true tokens, never the "
                       "drafted ones)",
    "markov_bias": f"float32 [{B},{BLOCK},{VOCAB}]: markov_head's bias (hook on markov_w2's output; vanilla: "
                   "markov_w2(markov_w1[prev]))",
    "logits": f"float32 [{B},{BLOCK},{VOCAB}]: the Markov-corrected logits, base_logits + markov_bias, as upstream's "
              "forward hands them to its loss (recorded by the loss callable); slot j (all 4 slots are drafted: "
              "sample_from_anchor true, speculative_tokens = block_size) predicts target_position_ids[:, j] = the "
              "slot's own position + 1",
    "confidence_logits": f"float32 [{B},{BLOCK}]: confidence_head's output (hook), from cat(hidden, "
                         "markov_w1[markov_prev_ids]) (confidence_head_with_markov); its loss is BCE against the "
                         "acceptance 1 - TV(logits, targets)",
    "logits_causal": f"float32 [{B},{BLOCK},{VOCAB}]: the same weights and inputs, in-block causal: upstream's only "
                     f"causal mode (sibling config: every layer sliding_attention, window {NO_CUT_WINDOW} which cuts "
                     "nothing, sliding_window_non_causal false); a contrast, not what the saved draft computes",
}

DFLASH2_DOC = {
    "logits": f"float32 [{B},{BLOCK},{VOCAB}]: the unary logits (hook on model.lm_head), which upstream's forward hands "
              "to its unary loss (checked); slot 0 = the anchor (unsupervised, sample_from_anchor false), slot j >= 1 "
              "predicts target_position_ids[:, j] = the slot's own position",
    "mask_logits": f"float32 [{B},{BLOCK - 1},{VOCAB}]: logits[:, 1:], the slots a drafter samples "
                   f"(speculative_tokens = block_size - 1 = {BLOCK - 1})",
    "selector_prev_ids": f"int64 [{B},{BLOCK}]: the predecessor ids upstream's forward indexes predecessor_codebook with "
                         "(_predecessor_ids, teacher forcing, sample_from_anchor false): [t0, t0, t1, t2] for block tokens "
                         "t = block_tokens (slot j: the document token at position p + j - 1; slot 0, unsupervised, "
                         "the anchor)",
    "selector_topk_ids": f"int64 [{B},{BLOCK},{SELECTOR_TOP_K}]: unary_logits.topk(selector_top_k).indices as the "
                         "forward computes them (the serving candidates, best first)",
    "selector_candidate_ids": f"int64 [{B},{BLOCK},{SELECTOR_TOP_K}]: the candidates the forward scores "
                              "(selector_training_candidates: selector_topk_ids with the last one replaced by the "
                              "target's argmax where the top-k misses it; recorded from its index into "
                              "successor_codebook)",
    "selector_scores": f"float32 [{B},{BLOCK},{SELECTOR_TOP_K}]: candidate_selector.score_candidates(logits, hidden, "
                       "selector_prev_ids, selector_candidate_ids) = logits[candidate] + sum_r "
                       "predecessor_codebook[prev, r] * hidden_projection(hidden)[r] * successor_codebook[candidate, r], "
                       "as the forward computes it (recorded from the selector cross_entropy's input)",
    "selector_target_positions": f"int64 [{B},{BLOCK}]: the cross_entropy label over the {SELECTOR_TOP_K} candidates "
                                 "(where the target's argmax sits in selector_candidate_ids)",
    "select_ids": f"int64 [{B},{BLOCK},{SELECTOR_TOP_K}]: candidate_selector.select(logits, hidden, selector_prev_ids)"
                  "[0]: upstream's serving path (no target injected) with the same predecessors: = selector_topk_ids",
    "select_scores": f"float32 [{B},{BLOCK},{SELECTOR_TOP_K}]: candidate_selector.select(...)[1]: the scores of "
                     "select_ids (a greedy drafter picks select_ids[argmax])",
    "attention_conv_in": f"float32 [{B},{BLOCK},{H}]: layer 0's attention_conv input (hook: input_layernorm's output)",
    "attention_conv_out": f"float32 [{B},{BLOCK},{H}]: layer 0's attention_conv.prepare output (hook: self_attn's "
                          "hidden_states input): per block, out[j] = sum_{tap < K, j - tap >= 0} in[j - tap] * "
                          "(base_kernel[0, tap] + delta[j, tap, group]), delta = kernel_projection(in[j]) viewed "
                          "[2, K, groups][0] (checked)",
}


def seed_weights(model, seed: int):
    """One generator per tensor name. The backbone exactly as upstream_dflash_fixture.py seeds it: norms (1-D)
    1 + 0.3*randn, matrices randn/sqrt(in). Then: markov_w1 randn * MARKOV_W1_SCALE; the selector's codebooks randn
    (embeddings: unit entries); base_kernel identity + 0.5*randn; other 1-D (the confidence bias) 0.1*randn. The
    verifier-owned ones (embedding, heads, verifier_norm) keep what from_training_args loaded from the verifier."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in VERIFIER_OWNED:
                continue
            g = torch.Generator().manual_seed(tensor_seed(seed, name))
            r = torch.randn(p.shape, generator=g)
            if name.endswith("markov_w1.weight"):
                v = MARKOV_W1_SCALE * r
            elif name.endswith("_codebook"):
                v = r
            elif name.endswith("base_kernel"):  # [2, taps, H]
                v = CONV_BASE_SPREAD * r
                v[:, 0] += 1
            elif p.ndim == 1:
                v = 1 + NORM_SPREAD * r if name.endswith("norm.weight") else 0.1 * r
            else:
                v = r / p.shape[1] ** 0.5
            p.copy_(v)


def draft_class(name: str):
    import importlib

    v = VARIANTS[name]
    return getattr(importlib.import_module(v["module"]), v["cls"])


def build_draft(verifier_dir: str, name: str, cfg=None, cls=None, **extra):
    v = VARIANTS[name]
    cls = cls or draft_class(name)
    cfg = cfg if cfg is not None else draft_layer_config(verifier_dir, {"layers": v["layers"]})
    kw = {} if cls.__name__ == "DFlashDraftModel" else dict(v["kwargs"])
    return cls.from_training_args(
        cfg, verifier_name_or_path=verifier_dir, draft_vocab_size=VOCAB, block_size=BLOCK,
        target_layer_ids=list(AUX_IDS), mask_token_id=MASK_TOKEN_ID, **kw, **extra).eval()


_OBSERVE = None


def _observer(selector):
    """A TorchFunctionMode that records, and only records, the torch calls DFlash2's forward makes for its candidate
    selector (CandidateSelector's methods are not module forwards, so hooks cannot see them). One class for the whole
    run: upstream compiles create_block_mask, and dynamo's guard on the torch-function-mode stack compares its types."""
    global _OBSERVE
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    if _OBSERVE is None:
        class Observe(TorchFunctionMode):
            def __init__(self, selector):
                super().__init__()
                self.selector, self.got = selector, {}

            def __torch_function__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                sel = self.selector
                if func is torch.Tensor.__getitem__ and args[0] is sel.predecessor_codebook:
                    self.got["selector_prev_ids"] = args[1].detach().clone()
                elif func is torch.Tensor.__getitem__ and args[0] is sel.successor_codebook:
                    self.got["selector_candidate_ids"] = args[1].detach().clone()
                elif func is torch.Tensor.topk and "selector_topk_ids" not in self.got:
                    self.got["selector_topk_ids"] = out.indices.detach().clone()
                elif func is F.cross_entropy:
                    self.got["selector_scores"] = args[0].detach().clone()
                    self.got["selector_target_positions"] = args[1].detach().clone()
                return out

        _OBSERVE = Observe
    return _OBSERVE(selector)


def upstream_run(model, inp, rows=None, position_ids=None, embed_probe=None, mark_block=False, conv_probe=None):
    """upstream's forward (DSpark or DFlash2) on the packed rows; what it computes is read with hooks, the loss callables
    it takes, and (DFlash2's selector) a recording TorchFunctionMode. Returns {name: [n, BLOCK, ...]}, packed.
    embed_probe (a probe only): a function applied to the block embeddings (hook output of embed_tokens).
    mark_block (a probe only): loss_mask 1 on every block position (columns C .. C+BLOCK-1) of each row and max_anchors
    = all of them (so select_anchors still has no choice); the results keep only the blocks anchored at column C.
    conv_probe (a probe only): a function applied to layer 0's input_layernorm output (the attention conv's input)."""
    import contextlib

    import torch

    packed, n = pack(inp, rows, position_ids)
    anchors_per_row = 1
    if mark_block:
        lm = packed["loss_mask"].clone()
        for d in range(n):
            lm[0, d * DOC + C: d * DOC + C + BLOCK] = 1
        packed = {**packed, "loss_mask": lm}
        anchors_per_row = BLOCK
    n_blocks = n * anchors_per_row

    got, hooks = {}, []

    def keep(key, fn):
        return lambda m, a, o: got.__setitem__(key, fn(a, o).detach().clone())

    hooks.append(model.norm.register_forward_hook(keep("hidden", lambda a, o: o)))
    hooks.append(model.lm_head.register_forward_hook(keep("base_logits", lambda a, o: o)))
    if getattr(model, "markov_head", None) is not None:
        hooks.append(model.markov_head.markov_w1.register_forward_hook(keep("markov_prev_ids", lambda a, o: a[0])))
        hooks.append(model.markov_head.markov_w2.register_forward_hook(keep("markov_bias", lambda a, o: o)))
    if getattr(model, "confidence_head", None) is not None:
        hooks.append(model.confidence_head.register_forward_hook(keep("confidence_logits", lambda a, o: o)))
    if embed_probe is not None:
        hooks.append(model.embed_tokens.register_forward_hook(lambda m, a, o: embed_probe(o)))
    if hasattr(model, "candidate_selector"):
        layer0 = model.layers[0]
        if conv_probe is not None:
            hooks.append(layer0.input_layernorm.register_forward_hook(lambda m, a, o: conv_probe(o)))
        hooks.append(layer0.input_layernorm.register_forward_hook(keep("attention_conv_in", lambda a, o: o)))
        hooks.append(layer0.self_attn.register_forward_pre_hook(
            lambda m, a, kw: got.__setitem__("attention_conv_out", kw["hidden_states"].detach().clone()),
            with_kwargs=True))
    # the kwargs upstream's trainer passes to forward (its default loss for these kinds, kl_div; eager: the fused ones
    # need Triton); its loss callables wrapped to record what the forward hands them
    train_kwargs, _ = model.get_trainer_kwargs(loss_fn=LOSS_FN, loss_implementation="eager")
    (loss_name, (loss_fn, weight)), = train_kwargs["loss_config"].items()
    tv_fn = train_kwargs["tv_loss_fn"]
    calls = {}

    def recording(key, fn):
        def wrapped(logits, targets):
            calls.setdefault(key, []).append((logits.detach().clone(), targets.detach().clone()))
            return fn(logits, targets)
        return wrapped

    train_kwargs = {**train_kwargs, "loss_config": {loss_name: (recording("loss", loss_fn), weight)},
                    "tv_loss_fn": recording("tv", tv_fn), "max_anchors": n_blocks}
    observer = _observer(model.candidate_selector) if hasattr(model, "candidate_selector") else None
    try:
        with torch.no_grad(), (observer if observer is not None else contextlib.nullcontext()):
            _, loss, metrics = model(**packed, **train_kwargs)
    finally:
        for h in hooks:
            h.remove()
    assert torch.isfinite(loss), loss
    assert len(calls["loss"]) == 1 and len(calls["tv"]) == 1, {k: len(v) for k, v in calls.items()}
    got["logits"], got["targets"] = calls["loss"][0]
    assert torch.equal(calls["tv"][0][0], got["logits"]) and torch.equal(calls["tv"][0][1], got["targets"])
    if observer is not None:
        got.update(observer.got)
    keep_blocks = list(range(0, n_blocks, anchors_per_row))  # the blocks anchored at column C
    res = {}
    for k, v in got.items():
        res[k] = v.reshape(n_blocks, BLOCK, *(v.shape[-1:] if _has_feature(k) else ()))[keep_blocks]
    res["metrics"] = metrics
    return res, packed


def _has_feature(key: str) -> bool:
    """Whether a recorded tensor has a trailing feature axis (hidden / vocab / top-k) after [.., slots]."""
    return key in ("hidden", "base_logits", "markov_bias", "logits", "targets", "attention_conv_in",
                   "attention_conv_out", "selector_topk_ids", "selector_candidate_ids", "selector_scores")


def target_indices(model, packed, targets):
    """For each slot, the packed index t whose verifier next-token logits (upstream's own verifier_norm and
    verifier_lm_head on verifier_last_hidden_states) are the slot's target."""
    import torch

    with torch.no_grad():
        ver = model.verifier_lm_head(model.verifier_norm(packed["verifier_last_hidden_states"]))[0]  # [T, V]
    d = (targets.reshape(-1, 1, VOCAB) - ver[None]).abs().amax(-1)  # [slots, T]
    best = d.argmin(-1)
    assert (d.gather(1, best[:, None]) < 1e-4).all(), d.min(-1)
    return best.reshape(targets.shape[:-1])


def conv_definition(layer, x):
    """The convolution as z-lab defines it (z-lab dflash 0.1.0, dflash/model.py:478-489 _grouped_dynamic_convolve,
    applied to one block [B, block, H] at a time): causal, zero-padded before the block's first slot, a dynamic
    per-group kernel from the slot's own input.
    Written from that definition, not from upstream's code: out[j] = sum_{tap < K, j - tap >= 0} in[j - tap] *
    (base_kernel[0, tap] + delta[j, tap, group])."""
    import torch

    conv = layer.attention_conv
    K, G, gs = conv.kernel_size, conv.num_groups, conv.group_size
    nb, blk, h = x.shape
    delta = (x @ conv.kernel_projection.weight.T).view(nb, blk, 2, K, G)[:, :, 0]  # [nb, blk, K, G]
    out = torch.zeros_like(x)
    for j in range(blk):
        for tap in range(K):
            if j - tap < 0:
                continue
            coef = conv.base_kernel[0, tap] + delta[:, j, tap].repeat_interleave(gs, dim=-1)  # [nb, H]
            out[:, j] += x[:, j - tap] * coef
    return out


def make_one(out: str, verifier_dir: str, name: str, seed: int) -> dict:
    import torch
    from importlib.metadata import version
    from safetensors.torch import save_file
    from speculators import SpeculatorModel
    from speculators.losses import dflash_loss_decay
    from speculators.models.dflash import DFlashDraftModel

    variant = VARIANTS[name]
    cls = draft_class(name)
    timings = {}
    t_all = t0 = time.time()
    draft_dir = os.path.join(out, name)
    if os.path.isdir(draft_dir) and set(os.listdir(draft_dir)) - set(SAVED_FILES):
        sys.exit(f"{draft_dir} holds other files than {', '.join(SAVED_FILES)}; remove it first")

    model = build_draft(verifier_dir, name)
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
    assert type(reloaded) is cls, type(reloaded)
    sd, sd2 = model.state_dict(), reloaded.state_dict()
    assert sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd), f"{name}: reload differs"
    timings["reload_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    inp = make_inputs(seed)
    run, packed = upstream_run(reloaded, inp)
    timings["forward_s"] = round(time.time() - t0, 3)

    t0 = time.time()
    checks = {"reload_state_dict_bit_exact": True}  # asserted above
    with torch.no_grad():
        bb = reloaded._backbone_forward(**packed, max_anchors=B)
    anchored = torch.tensor([d * DOC + C + j for d in range(B) for j in range(BLOCK)])
    assert torch.equal(bb[4], anchored), bb[4]
    checks["anchored_block_indices"] = bb[4].tolist()
    checks["backbone_forward_vs_hooked_base_logits_maxabs"] = maxabs(bb[1].reshape(B, BLOCK, VOCAB), run["base_logits"])
    block_tokens = packed["input_ids"][0, anchored].reshape(B, BLOCK)
    assert torch.equal(block_tokens[:, 0], inp["block_ids"][:, 0])
    tgt_idx = target_indices(reloaded, packed, run["targets"])
    target_pos = packed["position_ids"][0][tgt_idx] + 1
    checks["target_packed_indices"] = tgt_idx.tolist()
    # the labels: every block position marked, all of them anchors; keep the blocks anchored at column C
    lab, lab_packed = upstream_run(reloaded, inp, mark_block=True)
    with torch.no_grad():
        bb_all = reloaded._backbone_forward(**lab_packed, max_anchors=B * BLOCK)
    aligned = bb_all[3].reshape(B * BLOCK, BLOCK)[::BLOCK]  # [B, BLOCK], the blocks anchored at column C
    assert (aligned == aligned[:1]).all(), aligned
    decay = dflash_loss_decay(torch.arange(BLOCK, dtype=torch.float32), gamma=4.0,
                              sample_from_anchor=reloaded.config.sample_from_anchor)
    slot_weight = (aligned[0].float() * decay).float()
    checks["all_marked_aligned_loss_mask_per_slot"] = aligned[0].tolist()
    checks["fixed_exp_decay_per_slot"] = [round(x, 7) for x in decay.tolist()]
    checks["all_marked_vs_reference_logits_maxabs"] = maxabs(lab["logits"], run["logits"])
    checks["all_marked_target_packed_indices_equal"] = torch.equal(target_indices(reloaded, lab_packed, lab["targets"]),
                                                                   tgt_idx)

    run0 = upstream_run(model, inp)[0]
    checks["saved_vs_reloaded_logits_bit_exact"] = torch.equal(run0["logits"], run["logits"])
    checks["rows_alone_vs_packed_maxabs"] = max(maxabs(upstream_run(reloaded, inp, rows=[b])[0]["logits"],
                                                       run["logits"][b:b + 1]) for b in range(B))
    zero = torch.arange(C + BLOCK).expand(B, -1)
    checks["offsets_vs_zero_offsets_logits_maxabs"] = maxabs(
        upstream_run(reloaded, inp, position_ids=zero)[0]["logits"], run["logits"])
    p = {**inp, "filler_hidden_states": inp["filler_hidden_states"] + 5.0}
    checks["filler_states_changed_logits_maxabs"] = maxabs(upstream_run(reloaded, p)[0]["logits"], run["logits"])
    # the tokens after the anchor: invisible to the backbone, but the predecessors of teacher forcing
    p = {**inp, "filler_ids": (inp["filler_ids"] + 1) % MASK_TOKEN_ID}
    r_ids = upstream_run(reloaded, p)[0]
    checks["later_block_tokens_changed_base_logits_maxabs"] = maxabs(r_ids["base_logits"], run["base_logits"])
    a = inp["aux_hidden_states"].clone(); a[1] += 5.0
    r_a = upstream_run(reloaded, {**inp, "aux_hidden_states": a})[0]
    checks["row1_context_changed_row0_logits_maxabs"] = maxabs(r_a["logits"][0], run["logits"][0])
    checks["row1_context_changed_row1_logits_maxabs"] = maxabs(r_a["logits"][1], run["logits"][1])
    checks["context_column_changed_logits_maxabs"] = []
    for t in range(C):
        a = inp["aux_hidden_states"].clone(); a[:, t] += 5.0
        checks["context_column_changed_logits_maxabs"].append(
            round(maxabs(upstream_run(reloaded, {**inp, "aux_hidden_states": a})[0]["logits"], run["logits"]), 7))

    # in-block attention probe: add to the block embedding of the LAST slot (a mask token); which slots move?
    def probe(o):
        o[:, BLOCK - 1:: BLOCK] += 1.0
    checks["last_slot_embedding_changed_base_logits_maxabs_per_slot"] = slot_diffs(
        upstream_run(reloaded, inp, embed_probe=probe)[0]["base_logits"], run["base_logits"])
    eager = build_draft(verifier_dir, name, draft_attn_impl="eager")
    eager.load_state_dict(reloaded.state_dict())
    checks["eager_vs_flex_logits_maxabs"] = maxabs(upstream_run(eager, inp)[0]["logits"], run["logits"])
    # the backbone is upstream's DFlash: the same weights in a DFlashDraftModel (DFlash2: its convolutions reset to
    # identity, upstream's own reset_convolutions)
    dflash = build_draft(verifier_dir, name, cls=DFlashDraftModel)
    missing, unexpected = dflash.load_state_dict(reloaded.state_dict(), strict=False)
    assert not missing, missing
    got_df = {}
    h = dflash.lm_head.register_forward_hook(lambda m, a, o: got_df.__setitem__("logits", o.detach().clone()))
    try:
        with torch.no_grad():
            dflash(**packed, **{**dflash.get_trainer_kwargs(loss_fn="ce", loss_implementation="eager")[0],
                                "max_anchors": B})
    finally:
        h.remove()
    dflash_logits = got_df["logits"].reshape(B, BLOCK, VOCAB)

    ref = {"verifier_embed": vsd["model.embed_tokens.weight"], "verifier_head": vsd["lm_head.weight"],
           "aux_hidden_states": inp["aux_hidden_states"], "block_ids": inp["block_ids"],
           "position_ids": inp["position_ids"], "block_tokens": block_tokens, "hidden": run["hidden"]}
    answers = {}
    if name == "dspark":
        checks["dflash_same_weights_vs_base_logits_maxabs"] = maxabs(dflash_logits, run["base_logits"])
        checks["dflash_unexpected_keys"] = sorted(unexpected)
        checks["markov_prev_ids_equal_block_tokens"] = torch.equal(run["markov_prev_ids"], block_tokens)
        checks["logits_minus_base_vs_markov_bias_maxabs"] = maxabs(run["logits"] - run["base_logits"],
                                                                   run["markov_bias"])
        with torch.no_grad():
            w1 = reloaded.markov_head.markov_w1.weight
            checks["markov_bias_vs_w1_w2_maxabs"] = maxabs(
                run["markov_bias"], w1[block_tokens] @ reloaded.markov_head.markov_w2.weight.T)
            feat = torch.cat([run["hidden"], w1[block_tokens]], -1)
            checks["confidence_vs_proj_hidden_prev_emb_maxabs"] = maxabs(
                run["confidence_logits"], reloaded.confidence_head.proj(feat).squeeze(-1))
        checks["markov_changes_argmax_slots"] = int((run["logits"].argmax(-1) != run["base_logits"].argmax(-1)).sum())
        checks["later_block_tokens_changed_logits_maxabs_per_slot"] = slot_diffs(r_ids["logits"], run["logits"])
        checks["later_block_tokens_changed_markov_prev_ids"] = r_ids["markov_prev_ids"].tolist()
        # contrast: upstream's only causal in-block mode
        lt = ["sliding_attention"] * variant["layers"]
        cfg_c = draft_layer_config(verifier_dir, {"layers": variant["layers"]}, lt, NO_CUT_WINDOW)
        sib_c = build_draft(verifier_dir, name, cfg=cfg_c)
        sib_c.load_state_dict(reloaded.state_dict())
        run_c = upstream_run(sib_c, inp)[0]
        checks["causal_vs_logits_maxabs_per_slot"] = slot_diffs(run_c["logits"], run["logits"])
        checks["causal_last_slot_embedding_changed_base_logits_maxabs_per_slot"] = slot_diffs(
            upstream_run(sib_c, inp, embed_probe=probe)[0]["base_logits"], run_c["base_logits"])
        contrast_vis = {"causal_sibling (all layers sliding_attention, window %d, sliding_window_non_causal false)"
                        % NO_CUT_WINDOW: visibility(sib_c, packed, B)}
        ref.update({"base_logits": run["base_logits"], "markov_prev_ids": run["markov_prev_ids"],
                    "markov_bias": run["markov_bias"], "logits": run["logits"],
                    "confidence_logits": run["confidence_logits"], "logits_causal": run_c["logits"]})
        doc = DSPARK_DOC
    else:
        checks["dflash_identity_convs_vs_logits_maxabs"] = maxabs(dflash_logits, run["logits"])
        ident = build_draft(verifier_dir, name)
        ident.load_state_dict(reloaded.state_dict())
        for layer in ident.layers:
            layer.reset_convolutions()
        checks["dflash_same_weights_vs_identity_conv_dflash2_logits_maxabs"] = maxabs(
            dflash_logits, upstream_run(ident, inp)[0]["logits"])
        checks["dflash_unexpected_keys"] = sorted(unexpected)
        checks["loss_logits_vs_lm_head_logits_bit_exact"] = torch.equal(run["logits"], run["base_logits"])
        prev = torch.cat([block_tokens[:, :1], block_tokens[:, :-1]], 1)
        checks["selector_prev_ids_equal_t0_t0_t1_t2"] = torch.equal(run["selector_prev_ids"], prev)
        sel = reloaded.candidate_selector
        with torch.no_grad():
            topk = run["logits"].topk(SELECTOR_TOP_K, dim=-1).indices
            tgt = run["targets"].argmax(-1)
            again = sel.score_candidates(run["logits"], run["hidden"], prev, run["selector_candidate_ids"])
            sel_ids, sel_scores = sel.select(run["logits"], run["hidden"], prev)
        checks["selector_topk_ids_equal_topk_of_logits"] = torch.equal(run["selector_topk_ids"], topk)
        inj = run["selector_candidate_ids"] != run["selector_topk_ids"]
        checks["selector_candidates_differ_from_topk_only_last_where_target_missing"] = bool(
            (~inj[..., :-1]).all() and torch.equal(inj[..., -1], ~(topk == tgt[..., None]).any(-1))
            and torch.equal(run["selector_candidate_ids"][..., -1][inj[..., -1]], tgt[inj[..., -1]]))
        checks["selector_scores_vs_score_candidates_maxabs"] = maxabs(again, run["selector_scores"])
        checks["select_ids_equal_selector_topk_ids"] = torch.equal(sel_ids, run["selector_topk_ids"])
        checks["selector_changes_choice_slots"] = int((sel_scores.argmax(-1) != 0).sum())
        checks["later_block_tokens_changed_selector_scores_maxabs_per_slot"] = slot_diffs(
            r_ids["selector_scores"], run["selector_scores"])
        checks["later_block_tokens_changed_logits_maxabs"] = maxabs(r_ids["logits"], run["logits"])
        # the convolution: the per-block definition on the recorded input, and which slots an input change reaches
        checks["attention_conv_out_vs_per_block_zero_padded_definition_maxabs"] = maxabs(
            conv_definition(reloaded.layers[0], run["attention_conv_in"]), run["attention_conv_out"])
        moved = {}
        for j in range(BLOCK):
            def cprobe(o, j=j):
                o[:, j::BLOCK] = o[:, j::BLOCK] + 1.0
            r_p = upstream_run(reloaded, inp, conv_probe=cprobe)[0]
            d_in = (r_p["attention_conv_in"] - run["attention_conv_in"]).abs().amax(-1)  # [B, BLOCK]
            d_out = (r_p["attention_conv_out"] - run["attention_conv_out"]).abs().amax(-1)
            assert (d_in[:, j] > 0).all() and (d_in.sum(0) > 0).sum() == 1, d_in
            moved[f"slot{j}"] = [[round(x, 6) for x in row] for row in d_out.tolist()]
        checks["conv_input_slot_changed_conv_output_maxabs_per_row_slot"] = moved
        # upstream's grouped_dynamic_conv itself on a 3-block sequence, unit impulses (base identity-free: tap 1 only)
        from speculators.models.dflash2.model_definitions import grouped_dynamic_conv
        K = reloaded.config.conv_kernel_size
        imp = {}
        for j in range(3 * BLOCK):
            x = torch.zeros(1, 3 * BLOCK, H); x[0, j] = 1.0
            base = torch.ones(K, H)
            y = grouped_dynamic_conv(x, torch.zeros(1, 3 * BLOCK, K, H // reloaded.config.conv_group_size), base,
                                     block_size=BLOCK, group_size=reloaded.config.conv_group_size)
            imp[j] = [i for i in range(3 * BLOCK) if y[0, i].abs().max() > 0]
        checks["grouped_dynamic_conv_impulse_at_row_reaches_rows"] = imp
        contrast_vis = {}
        ref.update({"logits": run["logits"], "mask_logits": run["logits"][:, 1:],
                    "selector_prev_ids": run["selector_prev_ids"], "selector_topk_ids": run["selector_topk_ids"],
                    "selector_candidate_ids": run["selector_candidate_ids"], "selector_scores": run["selector_scores"],
                    "selector_target_positions": run["selector_target_positions"], "select_ids": sel_ids,
                    "select_scores": sel_scores, "attention_conv_in": run["attention_conv_in"],
                    "attention_conv_out": run["attention_conv_out"]})
        doc = DFLASH2_DOC
    ref.update({"target_position_ids": target_pos, "slot_loss_weight": slot_weight})
    timings["checks_s"] = round(time.time() - t0, 3)

    # the assertions: what the record claims
    scale = max(1.0, run["logits"].abs().max().item(), run["base_logits"].abs().max().item())
    checks["logits_absmax"] = round(scale, 4)
    assert checks["saved_vs_reloaded_logits_bit_exact"], name
    assert checks["all_marked_target_packed_indices_equal"], name
    for k in ("backbone_forward_vs_hooked_base_logits_maxabs", "rows_alone_vs_packed_maxabs",
              "offsets_vs_zero_offsets_logits_maxabs", "filler_states_changed_logits_maxabs",
              "later_block_tokens_changed_base_logits_maxabs", "row1_context_changed_row0_logits_maxabs",
              "eager_vs_flex_logits_maxabs", "all_marked_vs_reference_logits_maxabs",
              "dflash_same_weights_vs_base_logits_maxabs", "logits_minus_base_vs_markov_bias_maxabs",
              "markov_bias_vs_w1_w2_maxabs", "confidence_vs_proj_hidden_prev_emb_maxabs",
              "dflash_same_weights_vs_identity_conv_dflash2_logits_maxabs", "selector_scores_vs_score_candidates_maxabs",
              "attention_conv_out_vs_per_block_zero_padded_definition_maxabs"):
        if k in checks:  # float32 sums in another order (flex attention's blocking, matmul shapes): relative to the
            # logits' scale
            assert checks[k] < TOL * scale, (name, k, checks[k], scale)
    probe_diffs = checks["last_slot_embedding_changed_base_logits_maxabs_per_slot"]
    in_block = "causal" if max(probe_diffs[:-1]) < TOL * scale else "bidirectional"
    assert in_block == "bidirectional", (name, probe_diffs)
    seen = [i for i, d in enumerate(checks["context_column_changed_logits_maxabs"]) if d > TOL * scale]
    assert seen == list(range(C)), (name, seen)
    base_pos = packed["position_ids"][0][anchored].reshape(B, BLOCK)  # each slot's own position
    if name == "dspark":
        assert reloaded.config.sample_from_anchor and checks["markov_prev_ids_equal_block_tokens"]
        assert torch.equal(target_pos, base_pos + 1), (target_pos, base_pos)
        assert checks["markov_changes_argmax_slots"] > B * BLOCK // 2, checks["markov_changes_argmax_slots"]
        assert max(checks["causal_last_slot_embedding_changed_base_logits_maxabs_per_slot"][:-1]) < TOL * scale
        assert slot_weight[0] > 0 and (slot_weight > 0).all()
    else:
        assert not reloaded.config.sample_from_anchor and checks["selector_prev_ids_equal_t0_t0_t1_t2"]
        assert torch.equal(target_pos, base_pos), (target_pos, base_pos)
        assert slot_weight[0] == 0 and (slot_weight[1:] > 0).all()
        assert checks["loss_logits_vs_lm_head_logits_bit_exact"] and checks["selector_topk_ids_equal_topk_of_logits"]
        assert checks["selector_candidates_differ_from_topk_only_last_where_target_missing"]
        assert checks["select_ids_equal_selector_topk_ids"]
        assert checks["dflash_identity_convs_vs_logits_maxabs"] > 1e-3  # the convolutions matter
        for j in range(BLOCK):  # causal, K taps, never across a block boundary
            reach = [s for s in range(BLOCK) if min(r[s] for r in moved[f"slot{j}"]) > 0]
            none = [s for s in range(BLOCK) if max(r[s] for r in moved[f"slot{j}"]) == 0]
            assert reach == list(range(j, min(j + K, BLOCK))) and none == [s for s in range(BLOCK) if s not in reach], (
                j, moved[f"slot{j}"])
        for j, rows in imp.items():
            assert rows == [r for r in range(j, j + K) if r // BLOCK == j // BLOCK], (j, rows)

    # answers to the two questions, from the runs above
    if name == "dspark":
        answers["in_block_attention_full_layers"] = {
            "question": "does upstream's DSpark attend bidirectionally inside the block in full-attention layers when its "
                        "saved sliding_window_non_causal is false?",
            "answer": f"yes: {in_block}. The full-attention mask is built with sliding_window=None "
                      "(dflash/core.py:354-362) and create_anchor_block_mask_mod sets non_causal = sliding_window is None "
                      "or sliding_window_non_causal (dflash/attention.py:42-43): sliding_window_non_causal only reaches "
                      "sliding_attention layers (dflash/core.py:364-373)",
            "saved_sliding_window_non_causal": reloaded.config.sliding_window_non_causal,
            "evidence": {"last_slot_embedding_changed_base_logits_maxabs_per_slot": probe_diffs,
                         "causal_sibling_same_probe": checks[
                             "causal_last_slot_embedding_changed_base_logits_maxabs_per_slot"],
                         "visible_row0": visibility(reloaded, packed, B)},
        }
    else:
        answers["convolution_over_the_block"] = {
            "question": "does upstream's DFlash2 convolution run over the block as z-lab's does (block length = "
                        "block_size, causal in-block, zero-padded at the block start)?",
            "answer": "yes: upstream's grouped_dynamic_conv (dflash2/model_definitions.py:47-102) runs over the "
                      "flattened [num_anchors*block_size] block rows with position = row % block_size and keeps tap t "
                      "only where position >= t (:84-100), which is z-lab's conv over a [B, block_size] block with "
                      "F.pad zeros before slot 0 (z-lab dflash 0.1.0, dflash/model.py:478-489): slot j reads slots "
                      "j-K+1..j of its own block, never the previous block's slots nor the context",
            "conv_kernel_size": reloaded.config.conv_kernel_size,
            "evidence": {k: checks[k] for k in (
                "attention_conv_out_vs_per_block_zero_padded_definition_maxabs",
                "conv_input_slot_changed_conv_output_maxabs_per_row_slot",
                "grouped_dynamic_conv_impulse_at_row_reaches_rows", "dflash_identity_convs_vs_logits_maxabs",
                "dflash_same_weights_vs_identity_conv_dflash2_logits_maxabs")},
        }
        answers["in_block_attention_full_layers"] = {
            "answer": f"{in_block} (full-attention layers; sliding_window_non_causal, saved "
                      f"{reloaded.config.sliding_window_non_causal}, reaches only sliding layers)",
            "last_slot_embedding_changed_base_logits_maxabs_per_slot": probe_diffs}

    ref = {k: v.contiguous().clone() for k, v in ref.items()}
    ref_path = os.path.join(out, f"{name}.reference.safetensors")
    save_file(ref, ref_path, metadata={"producer": f"speculators {version('speculators')}", "variant": name})

    listing = dir_listing(draft_dir)
    cfg = listing["config.json"]
    reference_doc = {**COMMON_DOC, **doc}
    info = {
        "variant": name,
        "seed": seed,
        "versions": {p: version(p) for p in ("speculators", "torch", "transformers", "safetensors", "pydantic")},
        "verifier": verifier_dir,
        "draft_dir": draft_dir,
        "files": listing["files"],
        "config": cfg,
        "config_json_verbatim": open(os.path.join(draft_dir, "config.json")).read(),
        "saved_tensors": {k: [v["shape"], v["dtype"]] for k, v in listing["tensors"].items()},
        "upstream_model": {  # how upstream's model read its config
            "class": type(reloaded).__name__, "layers": len(reloaded.layers),
            "sample_from_anchor": reloaded.config.sample_from_anchor,
            "sliding_window_non_causal": reloaded.sliding_window_non_causal,
            "sliding_window_indices": reloaded.sliding_window_indices,
            "attn_implementation": reloaded._attn_impl, "target_layer_ids": reloaded.target_layer_ids,
            "speculative_tokens": cfg["speculators_config"]["proposal_methods"][0]["speculative_tokens"]},
        "reference_file": ref_path,
        "reference": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in ref.items()},
        "reference_doc": {k: v for k, v in reference_doc.items() if k in ref},
        "inputs": {
            "batch": B, "context": C, "block_size": BLOCK, "mask_token_id": MASK_TOKEN_ID, "position_offsets": OFFSETS,
            "context_positions": "offset_b + 0..5", "block_positions": "offset_b + 6..9 (anchor at offset_b + 6)",
            "from_training_args_target_layer_ids": AUX_IDS, "saved_aux_hidden_state_layer_ids":
                cfg.get("aux_hidden_state_layer_ids"), "zlab_target_layer_ids": ZLAB_TARGET_LAYER_IDS,
            "aux_convention": "from_training_args's target_layer_ids is saved verbatim as aux_hidden_state_layer_ids: "
                              "id L = residual stream entering verifier layer L = HF hidden_states[L] = vLLM "
                              "eagle_aux_hidden_state_layer_ids; z-lab target_layer_ids = L - 1",
            "packing": _dflash.PACKING,
            "loss": f"{LOSS_FN}, eager (get_trainer_kwargs(loss_fn={LOSS_FN!r}, loss_implementation='eager')), "
                    "per_position_loss_weight fixed-exp-decay, gamma 4",
            "markov_w1_scale": MARKOV_W1_SCALE if name == "dspark" else None,
        },
        "semantics": {
            "slot_predicts_position": "slot j predicts the token at the slot's own position + 1 (sample_from_anchor "
                                      "true: targets = verifier logits at the anchored index, dflash/core.py:436-453)"
            if name == "dspark" else
            "slot j predicts the token at the slot's own position (sample_from_anchor false: targets = verifier logits "
            "at anchored index - 1, dflash/core.py:436-453); slot 0 (the anchor) is not supervised "
            "(dflash/core.py:482-484)",
            "anchor_slot_supervised": bool(slot_weight[0] > 0),
            "slot_loss_weight": [round(x, 7) for x in slot_weight.tolist()],
            "teacher_forcing": "predecessors are the document's true tokens: dspark/core.py:155-168 (markov: "
                               "block_tokens when sample_from_anchor)" if name == "dspark" else
                               "predecessors are the document's true tokens: dflash2/core.py:124-135, 167 ([t0, t0, t1, "
                               "t2] when not sample_from_anchor)",
        },
        "answers": answers,
        "attention": {
            "observed_in_block_full_layers": in_block,
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
    extra = (f"Markov changes the argmax in {checks['markov_changes_argmax_slots']}/{B * BLOCK} slots"
             if name == "dspark" else f"selector changes the choice in {checks['selector_changes_choice_slots']}/"
                                      f"{B * BLOCK} slots")
    print(f"{name}: {draft_dir} ({len(info['saved_tensors'])} tensors; in-block {in_block}; {extra}; "
          f"{info['timings']['total_s']} s)")
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
    import speculators.models.dflash2  # noqa: F401  (timed with the imports)
    import speculators.models.dspark  # noqa: F401
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
                             "reference": i["reference"], "in_block": i["attention"]["observed_in_block_full_layers"],
                             "sample_from_anchor": i["config"].get("sample_from_anchor"),
                             "sliding_window_non_causal": i["config"].get("sliding_window_non_causal"),
                             "aux_hidden_state_layer_ids": i["config"].get("aux_hidden_state_layer_ids"),
                             "answers": {k: v["answer"] for k, v in i["answers"].items()}}
                         for n, i in index.items()},
            "reference_doc": {**COMMON_DOC, **{f"dspark: {k}": v for k, v in DSPARK_DOC.items()},
                              **{f"dflash2: {k}": v for k, v in DFLASH2_DOC.items()}},
        }
        with open(os.path.join(out, "fixture.json"), "w") as f:
            json.dump(summary, f, indent=1)
            f.write("\n")
    print(f"upstream_dspark_fixture: {len(names)} variant(s) in {out} ({time.time() - t0:.1f} s, imports {import_s} s)")


if __name__ == "__main__":
    main()
