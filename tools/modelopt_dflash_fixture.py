#!/usr/bin/env python
"""Build tiny DFlash and DSpark drafts with NVIDIA ModelOpt's own classes, export them with ModelOpt's own exporter
and record ModelOpt's own forward as a judge.

    VENV/bin/python -I modelopt_dflash_fixture.py OUT_DIR [--variant V|all] [--seed S] [--draft-rope explicit|recipe]

Run with the venv made by `producer_env.sh modelopt-0.47` (nvidia-modelopt 0.47.0, transformers 5.14, CPU torch).
Nothing of ModelOpt is stubbed, patched or copied. Observers only: forward hooks on the draft module (dflash_module),
the verifier's lm_head and the DSpark head's markov_w1 / markov_w2 / gate_proj, and one recording wrapper around the
instance method HFDSparkModel._apply_markov_head (it calls the class method and keeps its arguments and results).

Steps per variant (ModelOpt's example flow: examples/speculative_decoding/main.py, then
scripts/export_hf_checkpoint.py):
  1. A tiny seeded Qwen3ForCausalLM verifier (hidden 32, 4 heads / 2 kv heads, head_dim 8, intermediate 64, vocab 128,
     8 layers, rms_norm_eps 1e-6, rope_theta 1e6, float32), saved to _work/V/base/.
  2. ModelOpt's own recipe (modelopt_recipes general/speculative_decoding/dflash.yaml or dspark.yaml) loaded with
     modelopt.recipe.load_recipe and dotlist overrides (COMMON_OVERRIDES, VARIANTS: block_size 4, mask token 127,
     2 draft layers, the tiny dims, target_layer_ids [1, 4], one anchor per row), then
     mtsp.convert(model, [("dflash", recipe.dflash.model_dump())]) as main.py does; seeded draft weights (norms
     1 + 0.3*randn so that a missing norm shows; the DSpark Markov tables large enough that the correction changes the
     argmax in most slots). The dims must be given: under transformers 5 the draft's Qwen3Config(**arch) has its own
     defaults (32 heads, head_dim 128, ...), so HFDFlashModel.modify's setdefault from the base never applies.
  3. model.save_pretrained (modelopt.torch.opt.enable_huggingface_checkpointing: + modelopt_state.pth) into
     _work/V/ckpt/, reloaded with modelopt.torch.speculative.utils.load_vlm_or_llm and exported with
     modelopt.torch.export.export_speculative_decoding into OUT_DIR/V/ (its DFlashExporter / DSparkExporter).
  4. The judge: a fresh verifier with the same weights, converted with the same recipe plus dflash_init_checkpoint =
     OUT_DIR/V (ModelOpt's own warm-start loader of its export), checked bit-exact against the trained draft. On it:
     a. INFERENCE view: pseudo_speculative_generate(context_ids [3, 6], steps=block_size) (ModelOpt's own
        AR-validation sampler: base greedy anchor, one block, DFlash argmax of slots 1..3, DSpark greedy Markov walk
        over slots 0..3), observed; and the draft module's own forward called directly with per-row position offsets
        (the block [anchor, mask x3] at offset_b + 6..9 after 6 context rows at offset_b + 0..5), its attention mask
        from ModelOpt's _build_generate_swa_mask, the verifier head on all 4 slots; DSpark: _apply_markov_head with
        the teacher-forced predecessors, compute_markov_bias / compute_confidence_logits with the walk's predecessors.
     b. TRAINING view: the wrapper's own training forward (model.train(); HFDFlashModel / HFDSparkModel.forward) on
        input_ids [3, 12] = context 0..5, anchor at 6, then the tokens pseudo_speculative_generate drafted, with a
        loss_mask that leaves positions 6, 7, 8 as the only anchor candidates and the torch seed (found with
        ModelOpt's own _sample_anchor_positions) that makes it pick 6 in every row. ModelOpt's own train_acc is then
        1.0 exactly when its training labels are the tokens its sampler drafts: DFlash slot k (1..3) -> position
        anchor + k, DSpark slot k (0..3) -> anchor + k + 1 (shift_label).

Variants (same verifier, inputs and, where names match, draft weights):
  dflash         dflash.yaml: bidirectional inside the block (dflash_draft_attention "bidirectional", the default)
  dflash-causal  dflash.yaml + dflash_draft_attention causal (block-causal; exported as dflash_config.causal true)
  dspark         dspark.yaml: projector_type dspark, markov_head_type vanilla, markov_rank 8, use_confidence_head
  dspark-gated   dspark.yaml with markov_head_type gated (+ gate_proj.{weight,bias})
  all            every variant, and OUT_DIR/index.json
(ModelOpt also has markov_head_type "rnn" (joint_proj) and projector_type "domino"; not built here.)

--draft-rope: transformers 5 configs have no top-level rope_theta attribute, so HFDFlashModel.modify's "enforce the
base model's rope_theta" loop (hf_dflash.py:423-437) never fires: with the recipe as shipped the draft runs
Qwen3Config's default rope_theta 10000 while DFlashExporter writes the base's 1e6 (hf_spec_export.py:399). `explicit`
(default) adds dflash_architecture_config.rope_theta = the base's to the overrides, so that the export describes the
forward; `recipe` leaves it out (the reference then follows ModelOpt's forward, theta 10000, and disagrees with the
exported config). Every fixture.json records the probe (rope_probe).

What it writes under OUT_DIR, per variant V:
  V/                       export_speculative_decoding's output: config.json + model.safetensors, nothing else
  V.reference.safetensors  inputs and ModelOpt's outputs (see REFERENCE_DOC)
  V.fixture.json           versions, recipe + overrides, convert config, exported config and tensors, semantics, checks
  _work/V/                 base/ (the verifier, HF save_pretrained), ckpt/ (the ModelOpt HF checkpoint exported)
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import sys
import time

# helpers shared with the other producer fixtures; loaded by path, since `python -I` leaves this directory off sys.path
_spec = importlib.util.spec_from_file_location(
    "_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
dir_listing, tensor_seed = _common.dir_listing, _common.tensor_seed

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

H, HEADS, KV_HEADS, HEAD_DIM, INTER, VOCAB, EPS, ROPE_THETA = 32, 4, 2, 8, 64, 128, 1e-6, 1e6
DRAFT_LAYERS, VERIFIER_LAYERS = 2, 8
TARGET_LAYER_IDS = [1, 4]  # ModelOpt / z-lab convention: output of verifier decoder layer k = HF hidden_states[k + 1]
AUX_IDS = [k + 1 for k in TARGET_LAYER_IDS]  # vLLM / Speculators aux_hidden_state_layer_ids: [2, 5]
BLOCK, MASK_TOKEN_ID, MARKOV_RANK = 4, VOCAB - 1, 8
B, C = 3, 6  # batch rows, context tokens before the anchor
S = 12  # training sequence: context 0..5, anchor 6, drafted tokens 7.., filler; ModelOpt needs S % block_size == 0
ANCHOR = C
OFFSETS = (0, 7, 19)  # inference view: row b has context offset_b + 0..5, block offset_b + 6..9
NORM_SPREAD = 0.3
MARKOV_W2_SCALE = 3.0  # markov_w2 = 3 * randn / sqrt(rank): bias ~N(0, 9) per logit vs base logits ~N(0, 1)

RECIPES = {"dflash": "general/speculative_decoding/dflash.yaml", "dspark": "general/speculative_decoding/dspark.yaml"}
ARCH = "dflash.dflash_architecture_config."
COMMON_OVERRIDES = [
    f"dflash.dflash_block_size={BLOCK}", f"dflash.dflash_mask_token_id={MASK_TOKEN_ID}",
    "dflash.dflash_num_anchors=1",  # one block per row in the training view (a training-only knob, not exported)
    "dflash.dflash_use_torch_compile=false",
    f"{ARCH}num_hidden_layers={DRAFT_LAYERS}", f"{ARCH}num_attention_heads={HEADS}",
    f"{ARCH}num_key_value_heads={KV_HEADS}", f"{ARCH}head_dim={HEAD_DIM}", f"{ARCH}intermediate_size={INTER}",
    f"{ARCH}rms_norm_eps={EPS}", f"{ARCH}target_layer_ids=[{TARGET_LAYER_IDS[0]},{TARGET_LAYER_IDS[1]}]",
]
VARIANTS = {
    "dflash": ("dflash", []),
    "dflash-causal": ("dflash", ["dflash.dflash_draft_attention=causal"]),
    "dspark": ("dspark", [f"{ARCH}projector_type=dspark", f"{ARCH}markov_rank={MARKOV_RANK}",
                          f"{ARCH}markov_head_type=vanilla", f"{ARCH}use_confidence_head=true"]),
    "dspark-gated": ("dspark", [f"{ARCH}projector_type=dspark", f"{ARCH}markov_rank={MARKOV_RANK}",
                                f"{ARCH}markov_head_type=gated", f"{ARCH}use_confidence_head=true"]),
}

HF = "modelopt/torch/speculative/plugins/hf_dflash.py"
HS = "modelopt/torch/speculative/plugins/hf_dspark.py"
MS = "modelopt/torch/speculative/plugins/modeling_dspark.py"
MD = "modelopt/torch/speculative/plugins/modeling_dflash.py"
EX = "modelopt/torch/export/plugins/hf_spec_export.py"

REFERENCE_DOC = {
    "verifier_embed": f"float32 [{VOCAB},{H}]: the verifier's embed_tokens weight; ModelOpt embeds the block with it "
                      f"(_base_model_embeddings, {HF}:646-665); the export has no embedding",
    "verifier_head": f"float32 [{VOCAB},{H}]: the verifier's lm_head weight; ModelOpt's draft logits = "
                     f"lm_head(hidden) ({HF}:1046, 1173; {HS}:402, 470); the export has no head",
    "context_ids": f"int64 [{B},{C}]: the context token ids (random, < {MASK_TOKEN_ID}); the input of "
                   "pseudo_speculative_generate",
    "hf_hidden_states": f"float32 [{VERIFIER_LAYERS + 1},{B},{C},{H}]: the verifier's HF output_hidden_states on "
                        "context_ids (index 0 = embeddings, i = output of decoder layer i-1; the last one after the "
                        "final norm)",
    "aux_hidden_states": f"float32 [{B},{C},{len(AUX_IDS) * H}]: the target_hidden ModelOpt fed its draft module in "
                         "pseudo_speculative_generate (observed by a forward hook) = cat(hf_hidden_states[k + 1] for k "
                         f"in target_layer_ids {TARGET_LAYER_IDS}) ({HF}:1139-1141) = cat(aux states {AUX_IDS}) in the "
                         "vLLM / Speculators aux_hidden_state_layer_ids convention; row b, column t = the verifier "
                         "state of context token t, at position_ids[b, t]; all visible to the block",
    "anchor_ids": f"int64 [{B}]: the verifier's greedy next token after context_ids (pseudo_speculative_generate's "
                  "base_token): the block's first token, at position_ids[b, 6]",
    "block_ids": f"int64 [{B},{BLOCK}]: the query block [anchor, mask_token_id {MASK_TOKEN_ID} x {BLOCK - 1}]",
    "position_ids": f"int64 [{B},{C + BLOCK}]: the position_ids passed to the draft module's forward (one tensor for "
                    f"context + block, {MD}:399-404): columns 0..{C - 1} the context, {C}..{C + BLOCK - 1} the block; "
                    f"row b = offset_b + arange({C + BLOCK}), offsets {list(OFFSETS)}",
    "noise_embedding": f"float32 [{B},{BLOCK},{H}]: _base_model_embeddings(block_ids) = verifier_embed[block_ids]",
    "hidden": f"float32 [{B},{BLOCK},{H}]: DFlashModule/DSparkModule.forward(noise_embedding, target_hidden="
              "aux_hidden_states, position_ids, attention_mask=_build_generate_swa_mask(6, ...)) (None unless "
              "causal): the block's states after the draft's final norm, all 4 slots",
    "logits": f"float32 [{B},{BLOCK},{VOCAB}]: _base_model_lm_head(hidden): the backbone logits of all 4 slots",
    "draft_attention_mask": f"float32 [{B},1,{BLOCK},{C + BLOCK}] (dflash-causal only): the additive mask "
                            "_build_generate_swa_mask returned (0 visible, finfo.min hidden): context all visible, "
                            "block lower-triangular",
    "hidden_zero_offset": f"float32 [{B},{BLOCK},{H}]: the draft module's output inside pseudo_speculative_generate "
                          "(observed; positions 0..9 in every row)",
    "logits_zero_offset": f"float32 [{B},{BLOCK},{VOCAB}]: _base_model_lm_head(hidden_zero_offset), all 4 slots",
    "psg_draft_ids": "int64 [3,3] (DFlash) / [3,4] (DSpark): pseudo_speculative_generate(context_ids, "
                     f"steps=block_size)[1]: DFlash: argmax of slots 1..3 ({HF}:1172-1174); DSpark: the greedy Markov "
                     f"walk over slots 0..3 ({HS}:472-483)",
    "input_ids": f"int64 [{B},{S}]: the training-view sequence: context_ids at 0..5, anchor at 6, then psg_draft_ids "
                 "(from 7 on), then random filler (< 127)",
    "train_loss_mask": f"float32 [{B},{S}]: the loss_mask passed to the training forward: 1 at positions 6..10 "
                       "(anchor candidates 6, 7, 8 and the label positions), 0 elsewhere",
    "train_position_ids": f"int64 [{B},{S + BLOCK}]: the position_ids the training forward passed to the draft module "
                          f"(observed): context 0..{S - 1}, then anchor + 0..3 = 6..9 ({HF}:667-675)",
    "train_visible": f"bool [{B},{BLOCK},{S + BLOCK}]: the training forward's attention mask for the block rows "
                     "(observed; True = visible): context columns < anchor (0..5), block columns per "
                     f"dflash_draft_attention ({HF}:677-730)",
    "train_hidden": f"float32 [{B},{BLOCK},{H}]: the draft module's output in the training forward (observed)",
    "train_logits": f"float32 [{B},{BLOCK},{VOCAB}]: _base_model_lm_head(train_hidden) in the training forward "
                    "(observed on the lm_head): DFlash: the logits _compute_loss scores; DSpark: the backbone logits",
    "train_prev_ids": f"int64 [{B},{BLOCK}] (DSpark): the teacher-forced predecessors the training forward looked up "
                      f"in markov_w1 (observed): input_ids[anchor + k] = [anchor, psg_draft_ids[:, :3]] "
                      f"({HS}:156-160)",
    "train_final_logits": f"float32 [{B},{BLOCK},{VOCAB}] (DSpark): _apply_markov_head's corrected logits in the "
                          "training forward (recorded): backbone + Markov bias, what CE/TVD score",
    "train_confidence_logit": f"float32 [{B},{BLOCK}] (DSpark): _apply_markov_head's confidence logits in the "
                              "training forward (a logit; trained with binary_cross_entropy_with_logits)",
    "tf_prev_ids": f"int64 [{B},{BLOCK}] (DSpark): [anchor, input_ids[7..9]]: the teacher-forced predecessors",
    "tf_markov_bias": f"float32 [{B},{BLOCK},{VOCAB}] (DSpark): compute_markov_bias(tf_prev_ids, hidden) (vanilla: "
                      "markov_w2(markov_w1[prev]); gated: markov_w2(sigmoid(gate_proj([hidden; markov_w1[prev]])) * "
                      f"markov_w1[prev]), {MS}:153-170), on the offset-view hidden",
    "tf_logits": f"float32 [{B},{BLOCK},{VOCAB}] (DSpark): HFDSparkModel._apply_markov_head(hidden, logits, "
                 "input_ids, anchor 6) on the offset view: logits + tf_markov_bias",
    "tf_confidence_logit": f"float32 [{B},{BLOCK}] (DSpark): _apply_markov_head's confidence logits on the offset "
                           f"view: confidence_proj([hidden; markov_w1[tf_prev_ids]]) ({MS}:218-226)",
    "tf_confidence": f"float32 [{B},{BLOCK}] (DSpark): sigmoid(tf_confidence_logit): the predicted acceptance "
                     "probability",
    "seq_prev_ids": f"int64 [{B},{BLOCK}] (DSpark): the predecessors pseudo_speculative_generate's walk used "
                    "(observed on markov_w1): [anchor, psg_draft_ids[:, :3]]",
    "seq_markov_bias": f"float32 [{B},{BLOCK},{VOCAB}] (DSpark): the per-step Markov bias of that walk (observed on "
                       "markov_w2, zero offsets)",
    "seq_logits": f"float32 [{B},{BLOCK},{VOCAB}] (DSpark): logits_zero_offset + seq_markov_bias: what the walk took "
                  "the argmax of (psg_draft_ids = seq_logits.argmax(-1))",
    "seq_confidence_logit": f"float32 [{B},{BLOCK}] (DSpark): compute_confidence_logits(seq_prev_ids, hidden) on the "
                            "offset view (ModelOpt has no inference-time confidence consumer: its scheduler lives in "
                            "the serving engine)",
    "seq_confidence": f"float32 [{B},{BLOCK}] (DSpark): sigmoid(seq_confidence_logit)",
    "markov_gate_logit": f"float32 [{B},{BLOCK},{MARKOV_RANK}] (dspark-gated): gate_proj([hidden; "
                         "markov_w1[tf_prev_ids]]) observed inside compute_markov_bias (offset view); the gate is its "
                         "sigmoid",
}


def recipe_overrides(variant: str, draft_rope: str) -> list[str]:
    extra = [f"{ARCH}rope_theta={ROPE_THETA}"] if draft_rope == "explicit" else []
    return COMMON_OVERRIDES + extra + VARIANTS[variant][1]


def convert_config(variant: str, draft_rope: str, init_checkpoint: str | None = None):
    """ModelOpt's recipe + dotlist overrides -> the dict main.py hands to mtsp.convert."""
    from modelopt.recipe import load_recipe

    overrides = recipe_overrides(variant, draft_rope)
    if init_checkpoint is not None:
        overrides = overrides + [f"dflash.dflash_init_checkpoint={init_checkpoint}"]
    recipe = load_recipe(RECIPES[VARIANTS[variant][0]], overrides=overrides)
    return recipe.dflash.model_dump(), type(recipe).__name__


def base_config():
    from transformers import Qwen3Config

    return Qwen3Config(vocab_size=VOCAB, hidden_size=H, intermediate_size=INTER, num_hidden_layers=VERIFIER_LAYERS,
                       num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, head_dim=HEAD_DIM,
                       max_position_embeddings=256, rms_norm_eps=EPS,
                       rope_parameters={"rope_type": "default", "rope_theta": ROPE_THETA}, tie_word_embeddings=False,
                       bos_token_id=1, eos_token_id=2, pad_token_id=None, dtype="float32")


def make_base(seed: int):
    """The verifier: one generator per tensor name; embedding randn, norms 1 + 0.1*randn, matrices randn/sqrt(in)."""
    import torch
    from transformers import Qwen3ForCausalLM

    base = Qwen3ForCausalLM(base_config()).eval()
    with torch.no_grad():
        for name, p in base.named_parameters():
            r = torch.randn(p.shape, generator=torch.Generator().manual_seed(tensor_seed(seed, "verifier." + name)))
            p.copy_(1 + 0.1 * r if p.ndim == 1 else r if "embed_tokens" in name else r / p.shape[1] ** 0.5)
    return base


def seed_draft(module, seed: int):
    """One generator per tensor name (the same weights in every variant where names match): norms 1 + 0.3*randn, other
    1-D (biases) 0.1*randn, markov_w1 randn, markov_w2 3*randn/sqrt(rank), other matrices randn/sqrt(in)."""
    import torch

    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=torch.Generator().manual_seed(tensor_seed(seed, name)))
            if p.ndim == 1:
                v = 1 + NORM_SPREAD * r if name.endswith("norm.weight") else 0.1 * r
            elif name == "markov_w1.weight":
                v = r
            elif name == "markov_w2.weight":
                v = MARKOV_W2_SCALE * r / p.shape[1] ** 0.5
            else:
                v = r / p.shape[1] ** 0.5
            p.copy_(v.to(p.dtype))


class Recorder:
    """Forward hooks that only record (module outputs, inputs, kwargs); removed by close()."""

    def __init__(self):
        self.seen, self.handles = {}, []

    def hook(self, name, module, what="out"):
        import torch

        self.seen[name] = []

        def fn(m, args, kwargs, out):
            rec = {"args": args, "kwargs": kwargs, "out": out}
            self.seen[name].append({k: (v.detach().clone() if isinstance(v, torch.Tensor) else v)
                                    for k, v in rec.items()})

        self.handles.append(module.register_forward_hook(fn, with_kwargs=True))

    def close(self):
        for h in self.handles:
            h.remove()
        self.handles = []


def maxabs(a, b) -> float:
    return (a.float() - b.float()).abs().max().item()


def visible_strings(vis):
    """bool [Q, KV] -> ['1101..', ...] per query row."""
    return ["".join("1" if v else "0" for v in row.tolist()) for row in vis]


def build_model(variant, draft_rope, base_sd, init_checkpoint=None):
    import torch
    import modelopt.torch.speculative as mtsp
    from transformers import Qwen3ForCausalLM

    cfg, recipe_cls = convert_config(variant, draft_rope, init_checkpoint)
    base = Qwen3ForCausalLM(base_config()).eval()
    base.load_state_dict(base_sd)
    given = json.loads(json.dumps(cfg))
    mtsp.convert(base, [("dflash", cfg)])
    base.eval()
    return base, given, recipe_cls


def rope_probe(variant, base_sd):
    """What the draft's rotary embedding runs with vs what the exporter writes, with and without the override."""
    out = {}
    for mode in ("recipe", "explicit"):
        m, _, _ = build_model(variant, mode, base_sd)
        dm = m.dflash_module
        dm._maybe_init_rotary_emb()
        exported_cfg = m.get_exporter()._export_config()  # ModelOpt's own config builder (writes nothing)
        out[mode] = {"draft_config_rope_parameters": dict(dm.config.rope_parameters),
                     "draft_inv_freq": [float(x) for x in dm.rotary_emb.inv_freq],
                     "exported_rope_theta": exported_cfg["rope_theta"],
                     "exported_rope_scaling": exported_cfg["rope_scaling"]}
        out[mode]["forward_matches_export"] = (
            float(dm.config.rope_parameters["rope_theta"]) == float(exported_cfg["rope_theta"]))
    out["why"] = (f"{HF}:423-437 copies rope_theta/rope_type from the base only `if hasattr(base_config, attr)`; a "
                  "transformers 5 Qwen3Config keeps rope_theta inside rope_parameters and has no such attribute, so "
                  "the draft's Qwen3Config(**dflash_architecture_config) keeps its default rope_parameters (theta "
                  f"10000) while DFlashExporter writes _get_rope_theta(base_config) ({EX}:399)")
    return out


def make_one(out: str, variant: str, seed: int, draft_rope: str) -> dict:
    import torch
    from importlib.metadata import version
    from safetensors.torch import load_file, save_file

    import modelopt.torch.opt as mto
    from modelopt.torch.export import export_speculative_decoding
    from modelopt.torch.speculative.plugins.modeling_dflash import build_target_layer_ids
    from modelopt.torch.speculative.utils import load_vlm_or_llm

    mto.enable_huggingface_checkpointing()
    kind = VARIANTS[variant][0]
    dspark = kind == "dspark"
    timings = {}
    t_all = t0 = time.time()
    draft_dir = os.path.join(out, variant)
    work = os.path.join(out, "_work", variant)
    for d in (draft_dir, work):
        if os.path.exists(d):
            shutil.rmtree(d)  # our own output of an earlier run
    os.makedirs(work)

    # 1-2. verifier, ModelOpt's conversion with its recipe, seeded draft weights
    base = make_base(seed)
    base.save_pretrained(os.path.join(work, "base"))
    base_sd = {k: v.clone() for k, v in base.state_dict().items()}
    model, given_cfg, recipe_cls = build_model(variant, draft_rope, base_sd)
    seed_draft(model.dflash_module, seed)
    trained = {k: v.detach().clone() for k, v in model.dflash_module.state_dict().items()}
    timings["build_convert_s"] = round(time.time() - t0, 3)

    # 3. ModelOpt HF checkpoint (save_pretrained + modelopt_state) -> load_vlm_or_llm -> export_speculative_decoding
    t0 = time.time()
    ckpt = os.path.join(work, "ckpt")
    model.save_pretrained(ckpt)
    restored = load_vlm_or_llm(ckpt, dtype="auto").eval()
    rsd = restored.dflash_module.state_dict()
    ckpt_equal = sorted(rsd) == sorted(trained) and all(torch.equal(rsd[k], trained[k]) for k in trained)
    with torch.inference_mode():
        export_speculative_decoding(restored, export_dir=draft_dir)
    exporter = type(restored.get_exporter()).__name__
    listing = dir_listing(draft_dir)
    assert listing["files"] == ["config.json", "model.safetensors"], listing["files"]
    exported = load_file(os.path.join(draft_dir, "model.safetensors"))
    live = {k: v for k, v in trained.items() if "rotary_emb" not in k}
    assert sorted(exported) == sorted(live), (sorted(exported), sorted(live))
    export_equal = all(torch.equal(exported[k], v) for k, v in live.items())
    timings["checkpoint_export_s"] = round(time.time() - t0, 3)
    del restored

    # 4. the judge: ModelOpt's warm start from the export (dflash_init_checkpoint)
    t0 = time.time()
    judge, _, _ = build_model(variant, draft_rope, base_sd, init_checkpoint=draft_dir)
    jsd = judge.dflash_module.state_dict()
    reload_equal = all(torch.equal(jsd[k], v) for k, v in live.items()) and not (set(jsd) - set(trained))
    assert ckpt_equal and export_equal and reload_equal, (ckpt_equal, export_equal, reload_equal)
    dm = judge.dflash_module
    dm._maybe_init_rotary_emb()
    info_model = {
        "wrapper": next(c.__name__ for c in type(judge).__mro__ if c.__name__.startswith("HF")),
        "draft_module": type(dm).__name__, "exporter": exporter,
        "mask_token_id": judge.mask_token_id, "target_layer_ids": list(judge.target_layer_ids),
        "default_target_layer_ids": build_target_layer_ids(VERIFIER_LAYERS, DRAFT_LAYERS),
        "block_size": judge.dflash_block_size, "draft_attention": judge.dflash_draft_attention,
        "swa_window_size": judge.dflash_swa_window_size, "attention_sink": judge.dflash_attention_sink,
        "attn_implementation": dm.config._attn_implementation,
        "draft_rope_parameters": dict(dm.config.rope_parameters),
        "draft_inv_freq": [float(x) for x in dm.rotary_emb.inv_freq],
        "layer_types": list(dm.config.layer_types),
        "sliding_window_per_layer": [layer.self_attn.sliding_window for layer in dm.layers],
        "training_knobs": {"loss_objective": judge.dflash_loss_objective,
                           "loss_decay_factor": judge.dflash_loss_decay_factor,
                           "self_logit_distillation": judge.dflash_self_logit_distillation,
                           "num_anchors": judge.dflash_num_anchors},
    }
    if dspark:
        info_model |= {"markov_head_type": dm.markov_head_type, "markov_rank": dm.markov_rank,
                       "use_confidence_head": dm.use_confidence_head, "shift_label": dm.shift_label,
                       "projector_type": dm.projector_type,
                       "loss_alphas": {"ce": judge.dflash_ce_loss_alpha, "l1": judge.dflash_l1_loss_alpha,
                                       "confidence": judge.dflash_confidence_head_alpha}}
    timings["reload_s"] = round(time.time() - t0, 3)

    # ---- inputs: context rows whose verifier greedy token is not the mask id -------------------------------------
    t0 = time.time()
    g = torch.Generator().manual_seed(tensor_seed(seed, "context_ids"))
    rows = []
    with torch.no_grad():
        while len(rows) < B:
            ids = torch.randint(0, MASK_TOKEN_ID, (1, C), generator=g)
            nxt = judge._base_model_lm_head(judge._base_model(input_ids=ids).last_hidden_state)[0, -1].argmax()
            if int(nxt) != MASK_TOKEN_ID:
                rows.append(ids)
    context_ids = torch.cat(rows)

    # ---- a. inference view: ModelOpt's own sampler, observed ----------------------------------------------------
    lm_head = judge._base_model_lm_head
    rec = Recorder()
    rec.hook("draft", dm)
    rec.hook("lm_head", lm_head)
    if dspark:
        rec.hook("w1", dm.markov_w1)
        rec.hook("w2", dm.markov_w2)
    try:
        with torch.no_grad():
            base_token, psg_ids = judge.pseudo_speculative_generate(context_ids, steps=BLOCK)
    finally:
        rec.close()
    assert len(rec.seen["draft"]) == 1, len(rec.seen["draft"])
    pd = rec.seen["draft"][0]
    aux = pd["kwargs"]["target_hidden"]
    hidden_zero = pd["out"]
    psg_pos = pd["kwargs"]["position_ids"]
    anchor = base_token[:, 0]
    block_ids = torch.full((B, BLOCK), MASK_TOKEN_ID, dtype=torch.long)
    block_ids[:, 0] = anchor
    with torch.no_grad():
        hf_hidden = torch.stack(judge._base_model(input_ids=context_ids, output_hidden_states=True).hidden_states)
        logits_zero = lm_head(hidden_zero)
    seq = {}
    if dspark:  # the walk: markov_w1 saw the predecessors, markov_w2 returned the biases (one call per step)
        seq_prev = torch.stack([r["args"][0] for r in rec.seen["w1"]], dim=1)
        seq_bias = torch.stack([r["out"] for r in rec.seen["w2"]], dim=1)
        backbone_psg = rec.seen["lm_head"][-1]["out"]
        assert torch.equal(backbone_psg, logits_zero), "psg's backbone logits are lm_head(draft output)"
        seq = {"seq_prev_ids": seq_prev, "seq_markov_bias": seq_bias, "seq_logits": logits_zero + seq_bias}

    # the draft module's own forward, per-row offsets, ModelOpt's generation mask
    position_ids = torch.stack([o + torch.arange(C + BLOCK) for o in OFFSETS])
    noise = judge._base_model_embeddings(block_ids)

    def draft_forward(pos, rows=slice(None)):
        mask = judge._build_generate_swa_mask(C, noise[rows].shape[0], aux.dtype, aux.device)
        with torch.no_grad():
            h = dm(noise_embedding=noise[rows], target_hidden=aux[rows], position_ids=pos[rows], attention_mask=mask)
            return h, lm_head(h), mask

    hidden, logits, gen_mask = draft_forward(position_ids)

    # training-view input_ids: context, anchor, what psg drafted, filler
    fill = torch.randint(0, MASK_TOKEN_ID, (B, S - C - 1 - psg_ids.shape[1]),
                         generator=torch.Generator().manual_seed(tensor_seed(seed, "filler")))
    input_ids = torch.cat([context_ids, anchor[:, None], psg_ids, fill], dim=1)
    assert input_ids.shape == (B, S), input_ids.shape

    ref_extra = {}
    if dspark:
        rec = Recorder()
        if dm.markov_head_type == "gated":
            rec.hook("gate", dm.gate_proj)
        try:
            with torch.no_grad():
                tf_logits4, tf_conf = judge._apply_markov_head(hidden, logits.reshape(B, 1, BLOCK, -1), input_ids,
                                                               torch.full((B, 1), ANCHOR), 1)
                tf_prev = input_ids[:, ANCHOR:ANCHOR + BLOCK]
                tf_bias = dm.compute_markov_bias(tf_prev[:, None], hidden[:, None])[:, 0]
        finally:
            rec.close()
        with torch.no_grad():
            seq_conf = dm.compute_confidence_logits(seq["seq_prev_ids"], hidden)
            seq_bias_offset = dm.compute_markov_bias(seq["seq_prev_ids"][:, None], hidden[:, None])[:, 0]
        ref_extra = {"tf_prev_ids": tf_prev, "tf_markov_bias": tf_bias, "tf_logits": tf_logits4[:, 0],
                     "tf_confidence_logit": tf_conf[:, 0], "tf_confidence": torch.sigmoid(tf_conf[:, 0]), **seq,
                     "seq_confidence_logit": seq_conf, "seq_confidence": torch.sigmoid(seq_conf)}
        if dm.markov_head_type == "gated":
            ref_extra["markov_gate_logit"] = rec.seen["gate"][0]["out"][:, 0]
    timings["inference_view_s"] = round(time.time() - t0, 3)

    # ---- b. training view: ModelOpt's own training forward, observed --------------------------------------------
    t0 = time.time()
    loss_mask = torch.zeros(B, S)
    loss_mask[:, ANCHOR:ANCHOR + BLOCK + 1] = 1.0  # anchor candidates 6, 7, 8 (<= S - block_size) + label positions
    for s in range(10_000):  # the seed for which ModelOpt's own anchor sampler picks position 6 in every row
        torch.manual_seed(s)
        a, keep = judge._sample_anchor_positions(S, loss_mask, torch.device("cpu"))
        if a.shape == (B, 1) and bool(keep.all()) and bool((a == ANCHOR).all()):
            break
    else:
        raise RuntimeError("no seed makes _sample_anchor_positions pick the anchor")
    anchor_seed = s

    def training_forward(ids):
        rec = Recorder()
        rec.hook("draft", dm)
        rec.hook("lm_head", lm_head)
        seen_amh = []
        if dspark:
            rec.hook("w1", dm.markov_w1)

            def amh(*args, **kw):  # records HFDSparkModel._apply_markov_head's arguments and results, changes nothing
                res = type(judge)._apply_markov_head(judge, *args, **kw)
                seen_amh.append({"args": args, "out": res})
                return res

            judge._apply_markov_head = amh
        judge.train()
        try:
            torch.manual_seed(anchor_seed)
            with torch.no_grad():
                res = judge(input_ids=ids, loss_mask=loss_mask)
        finally:
            judge.eval()
            rec.close()
            if dspark:
                del judge._apply_markov_head  # back to the class method
        return res, rec.seen, seen_amh

    res, seen, seen_amh = training_forward(input_ids)
    assert len(seen["draft"]) == 1, len(seen["draft"])
    td = seen["draft"][0]
    train_pos = td["kwargs"]["position_ids"]
    expect_pos = torch.cat([torch.arange(S), ANCHOR + torch.arange(BLOCK)]).expand(B, -1)
    assert torch.equal(train_pos, expect_pos), train_pos  # ModelOpt picked anchor 6 in every row
    train_mask = td["kwargs"]["attention_mask"]
    train_visible = train_mask[:, 0] == 0
    train_hidden = td["out"]
    train_logits = seen["lm_head"][-1]["out"].reshape(B, BLOCK, VOCAB)
    train = {"input_ids": input_ids, "train_loss_mask": loss_mask, "train_position_ids": train_pos,
             "train_visible": train_visible, "train_hidden": train_hidden, "train_logits": train_logits}
    if dspark:
        final4, conf4 = seen_amh[0]["out"]
        train |= {"train_prev_ids": seen["w1"][0]["args"][0].reshape(B, BLOCK),
                  "train_final_logits": final4.reshape(B, BLOCK, VOCAB),
                  "train_confidence_logit": conf4.reshape(B, BLOCK)}
    train_acc = float(res.train_acc[0][0])
    training_info = {"loss": float(res.loss), "train_acc": train_acc, "anchor_seed": anchor_seed,
                     "visible_row0": visible_strings(train_visible[0]),
                     "dspark_metrics": getattr(res, "dspark_metrics", None) if dspark else None}
    timings["training_view_s"] = round(time.time() - t0, 3)

    # ---- checks -------------------------------------------------------------------------------------------------
    t0 = time.time()
    pred = train.get("train_final_logits", train_logits).argmax(-1)  # what ModelOpt's accuracy compares
    checks = {
        "trained_vs_modelopt_checkpoint_reload_bit_exact": ckpt_equal,
        "export_equals_draft_module_state_bit_exact": export_equal,
        "export_reloaded_by_dflash_init_checkpoint_bit_exact": reload_equal,
        "aux_equals_hf_hidden_states[k+1]": torch.equal(
            aux, torch.cat([hf_hidden[k + 1] for k in TARGET_LAYER_IDS], -1)),
        "psg_position_ids_are_0..9": torch.equal(psg_pos, torch.arange(C + BLOCK).expand(B, -1)),
        "direct_forward_zero_offsets_vs_psg_hidden_maxabs": maxabs(
            draft_forward(torch.arange(C + BLOCK).expand(B, -1).contiguous())[0], hidden_zero),
        "offsets_vs_zero_offsets_logits_maxabs": maxabs(logits, logits_zero),
        "rows_alone_vs_batched_logits_maxabs": max(maxabs(draft_forward(position_ids, slice(b, b + 1))[1],
                                                          logits[b:b + 1]) for b in range(B)),
        "train_hidden_vs_inference_zero_offset_hidden_maxabs": maxabs(train_hidden, hidden_zero),
        "train_context_visible_is_positions_lt_anchor": bool(
            train_visible[:, :, :S].eq((torch.arange(S) < ANCHOR).expand(B, BLOCK, S)).all()),
        "modelopt_train_acc": train_acc,
        "train_argmax_eq_label_at_anchor+k": [[bool(v) for v in r]
                                              for r in pred.eq(input_ids[:, ANCHOR:ANCHOR + BLOCK])],
        "train_argmax_eq_label_at_anchor+k+1": [[bool(v) for v in r]
                                                for r in pred.eq(input_ids[:, ANCHOR + 1:ANCHOR + 1 + BLOCK])],
        "export_config_rope_theta_matches_forward": float(listing["config.json"]["rope_theta"]) == float(
            dm.config.rope_parameters["rope_theta"]),
    }
    # the training aux rows at/after the anchor do not reach the block: perturb the tokens after it (only the rows
    # >= 7 of the verifier's states change; rows 6.. are masked) and the block's hidden stays
    alt = input_ids.clone()
    alt[:, ANCHOR + 1:] = (alt[:, ANCHOR + 1:] + 1) % MASK_TOKEN_ID
    checks["train_hidden_ignores_tokens_after_anchor_maxabs"] = maxabs(training_forward(alt)[1]["draft"][0]["out"],
                                                                       train_hidden)
    if judge.dflash_draft_attention == "causal":
        vis = (gen_mask[0, 0] == 0)
        checks["generate_mask_block_visible"] = visible_strings(vis)
        checks["train_vs_generate_mask_agree"] = bool(torch.equal(
            train_visible[0][:, list(range(C)) + list(range(S, S + BLOCK))], vis))
    if not dspark:
        checks["psg_draft_ids_eq_argmax_logits_zero_offset_slots_1_3"] = torch.equal(
            psg_ids, logits_zero[:, 1:].argmax(-1))
        checks["psg_draft_ids_eq_argmax_logits_offset_view_slots_1_3"] = torch.equal(
            psg_ids, logits[:, 1:].argmax(-1))
        assert train_acc > 0.999, train_acc
    else:
        e = {k: v.float() for k, v in exported.items()}
        w1, w2 = e["markov_w1.weight"], e["markov_w2.weight"]
        checks |= {
            "psg_walk_eq_argmax_seq_logits": torch.equal(psg_ids, seq["seq_logits"].argmax(-1)),
            "seq_prev_is_anchor_then_walk": torch.equal(seq["seq_prev_ids"],
                                                        torch.cat([anchor[:, None], psg_ids[:, :-1]], 1)),
            "train_prev_is_anchor_then_labels": torch.equal(train["train_prev_ids"],
                                                            input_ids[:, ANCHOR:ANCHOR + BLOCK]),
            "train_final_vs_seq_logits_maxabs": maxabs(train["train_final_logits"], seq["seq_logits"]),
            "tf_logits_vs_seq_logits_maxabs": maxabs(ref_extra["tf_logits"], seq["seq_logits"]),
            "tf_logits_eq_logits_plus_tf_bias_maxabs": maxabs(ref_extra["tf_logits"],
                                                              logits + ref_extra["tf_markov_bias"]),
            "walk_on_offset_view_eq_psg_walk": torch.equal((logits + seq_bias_offset).argmax(-1), psg_ids),
            "markov_changes_argmax_slots": int((psg_ids != logits_zero.argmax(-1)).sum()),
            "seq_bias_vs_w2_w1_prev_maxabs": maxabs(seq["seq_markov_bias"], w1[seq["seq_prev_ids"]] @ w2.T),
            "tf_confidence_vs_exported_proj_maxabs": maxabs(
                ref_extra["tf_confidence_logit"],
                torch.cat([hidden, w1[ref_extra["tf_prev_ids"]]], -1) @ e["confidence_proj.weight"][0]
                + e["confidence_proj.bias"][0]),
            "train_confidence_vs_tf_confidence_maxabs": maxabs(train["train_confidence_logit"],
                                                               ref_extra["tf_confidence_logit"]),
        }
        assert train_acc > 0.999, train_acc
        assert checks["markov_changes_argmax_slots"] >= B * BLOCK // 2, checks["markov_changes_argmax_slots"]
        if dm.markov_head_type == "gated":
            assert checks["seq_bias_vs_w2_w1_prev_maxabs"] > 0.1, checks  # the gate matters
    for k, v in checks.items():
        if k.endswith("_maxabs") and k != "seq_bias_vs_w2_w1_prev_maxabs":
            assert v < 1e-4, (variant, k, v)
        if isinstance(v, bool) and k != "export_config_rope_theta_matches_forward":
            assert v, (variant, k)
    if dspark and dm.markov_head_type == "vanilla":
        assert checks["seq_bias_vs_w2_w1_prev_maxabs"] < 1e-4, checks
    timings["checks_s"] = round(time.time() - t0, 3)

    # ---- write --------------------------------------------------------------------------------------------------
    ref = {"verifier_embed": judge._base_model_embeddings.weight, "verifier_head": lm_head.weight,
           "context_ids": context_ids, "hf_hidden_states": hf_hidden, "aux_hidden_states": aux, "anchor_ids": anchor,
           "block_ids": block_ids, "position_ids": position_ids, "noise_embedding": noise, "hidden": hidden,
           "logits": logits, "hidden_zero_offset": hidden_zero, "logits_zero_offset": logits_zero,
           "psg_draft_ids": psg_ids, **train, **ref_extra}
    if gen_mask is not None:
        ref["draft_attention_mask"] = gen_mask
    ref = {k: v.detach().contiguous().clone() for k, v in ref.items()}
    ref_path = os.path.join(out, f"{variant}.reference.safetensors")
    save_file(ref, ref_path, metadata={"producer": f"nvidia-modelopt {version('nvidia-modelopt')}", "variant": variant})

    semantics = {
        "aux_convention": f"target_layer_ids k (z-lab / ModelOpt) = HF hidden_states[k + 1] ({HF}:982-984, 1139-1141; "
                          f"{HS}:353-355, 444-446) = vLLM / Speculators aux id k + 1: {TARGET_LAYER_IDS} -> {AUX_IDS}; "
                          "verified: aux_equals_hf_hidden_states[k+1]",
        "block": f"[anchor, mask x {BLOCK - 1}] at positions anchor_pos + 0..{BLOCK - 1}; the anchor is the verifier's "
                 f"token at anchor_pos (inference: its greedy next token after the context), the mask slots are "
                 f"mask_token_id ({HF}:646-665, 1147-1152)",
        "visible_context": f"context rows with position < anchor_pos, i.e. all tokens before the anchor; not the "
                           f"anchor's own verifier state ({HF}:704-705 kv < anchor; inference: the whole prefix, "
                           f"{HF}:1157-1160); verified: train_context_visible_is_positions_lt_anchor, "
                           "train_hidden_ignores_tokens_after_anchor",
        "block_attention": ("causal: a block row sees block rows <= itself" if judge.dflash_draft_attention == "causal"
                            else "bidirectional: every block row sees all 4 block rows") +
                           f" ({HF}:713-721 training, 732-762 generation; exported as dflash_config.causal)",
        "mask_token_id_in_export": f"config.json dflash_config.mask_token_id ({EX}:369)",
        "target_layer_ids_in_export": f"config.json dflash_config.target_layer_ids, ModelOpt/z-lab numbering "
                                      f"({EX}:370)",
    }
    if not dspark:
        semantics["slots"] = (f"slot k (0..{BLOCK - 1}) sits at anchor_pos + k; training labels slot k with the "
                              f"token AT anchor_pos + k ({HF}:785-792) and drops slot 0 (the anchor) from the loss "
                              f"({HF}:797-798); so slots 1..{BLOCK - 1} draft positions anchor_pos + 1..{BLOCK - 1} "
                              f"(pseudo_speculative_generate: argmax of lm_head(hidden[:, 1:]), {HF}:1172-1174); the "
                              f"export carries no shift_label. Verified: ModelOpt's train_acc = {train_acc:.6f} with "
                              "input_ids[anchor+k] = the tokens its sampler drafted from slot k")
    else:
        semantics["slots"] = (f"shift_label true ({MS}:92-95; exported {EX}:542): slot k (0..{BLOCK - 1}) sits at "
                              f"anchor_pos + k and predicts the token at anchor_pos + k + 1 ({HS}:193-197), slot 0 "
                              f"included ({HS}:203); so a block of {BLOCK} drafts {BLOCK} tokens. Markov "
                              f"predecessor of slot k: the token at anchor_pos + k (teacher-forced in training, "
                              f"{HS}:156-160; the anchor, then the walk's previous pick, in "
                              f"pseudo_speculative_generate, {HS}:472-483). Verified: ModelOpt's train_acc = "
                              f"{train_acc:.6f} with input_ids[anchor+1+k] = the walk")
        semantics["confidence"] = (f"confidence_proj([hidden_k ; markov_w1[prev_k]]) -> a logit ({MS}:218-226); "
                                   f"trained with BCE-with-logits against 1 - 0.5*TVD ({HS}:249-256); always uses the "
                                   "Markov embedding (no with_markov switch)")

    info = {
        "variant": variant,
        "seed": seed,
        "draft_rope": draft_rope,
        "versions": {p: version(p) for p in ("nvidia-modelopt", "torch", "transformers", "safetensors")},
        "recipe": {"file": RECIPES[kind], "class": recipe_cls, "overrides": recipe_overrides(variant, draft_rope)},
        "convert_config": given_cfg,
        "draft_dir": draft_dir,
        "files": listing["files"],
        "config": listing["config.json"],
        "exported_tensors": {k: [v["shape"], v["dtype"]] for k, v in listing["tensors"].items()},
        "not_exported": sorted(set(trained) - set(live)),
        "work": {"base": sorted(os.listdir(os.path.join(work, "base"))), "ckpt": sorted(os.listdir(ckpt))},
        "modelopt_model": info_model,
        "rope_probe": rope_probe(variant, base_sd),
        "training_view": training_info,
        "semantics": semantics,
        "reference_file": ref_path,
        "reference": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in ref.items()},
        "reference_doc": {k: v for k, v in REFERENCE_DOC.items() if k in ref},
        "inputs": {"batch": B, "context": C, "block_size": BLOCK, "mask_token_id": MASK_TOKEN_ID,
                   "position_offsets": OFFSETS, "training_sequence_length": S, "anchor_position_training": ANCHOR,
                   "modelopt_target_layer_ids": TARGET_LAYER_IDS, "hf_hidden_states_indices": AUX_IDS,
                   "speculators_aux_hidden_state_layer_ids": AUX_IDS},
        "checks": checks,
        "timings": {**timings, "total_s": round(time.time() - t_all, 3)},
    }
    with open(os.path.join(out, f"{variant}.fixture.json"), "w") as f:
        json.dump(info, f, indent=1, default=str)
        f.write("\n")
    print(f"{variant}: {draft_dir} ({len(info['exported_tensors'])} tensors; {exporter}; train_acc {train_acc:.4f}; "
          f"{info['timings']['total_s']} s)", flush=True)
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--variant", choices=[*VARIANTS, "all"], default="dflash")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--draft-rope", choices=["explicit", "recipe"], default="explicit",
                    help="explicit: dflash_architecture_config.rope_theta = the verifier's (default); "
                         "recipe: as shipped")
    args = ap.parse_args(argv)
    t0 = time.time()
    import torch
    import modelopt
    from transformers.utils import logging as hf_logging

    if not os.path.abspath(modelopt.__file__).startswith(sys.prefix):
        sys.exit(f"imported modelopt from {modelopt.__file__}, not from the venv {sys.prefix}; run VENV/bin/python -I")
    assert not torch.cuda.is_available(), "expected the CPU torch"
    torch.set_num_threads(1)
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    # the recipes set dflash_loss_decay_factor but leave dflash_loss_objective at its default "dpace", and every convert
    # warns that the factor is ignored (recorded in fixture.json modelopt_model.training_knobs instead)
    logging.getLogger("modelopt.torch.speculative.dflash.dflash_model").setLevel(logging.ERROR)
    import modelopt.torch.export  # noqa: F401  (import cost measured separately)
    import modelopt.torch.speculative  # noqa: F401
    import_s = round(time.time() - t0, 2)
    out = os.path.abspath(args.out_dir)
    os.makedirs(out, exist_ok=True)
    names = list(VARIANTS) if args.variant == "all" else [args.variant]
    index = {name: make_one(out, name, args.seed, args.draft_rope) for name in names}
    if args.variant == "all":
        with open(os.path.join(out, "index.json"), "w") as f:
            json.dump({"import_s": import_s, "total_s": round(time.time() - t0, 2), "variants": index}, f, indent=1,
                      default=str)
            f.write("\n")
    print(f"modelopt_dflash_fixture: {len(names)} variant(s) in {out} ({time.time() - t0:.1f} s, imports {import_s} s)")


if __name__ == "__main__":
    main()
