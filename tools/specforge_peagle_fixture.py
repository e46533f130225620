#!/usr/bin/env python
"""Build a tiny P-EAGLE draft with SpecForge's own classes, save it through SpecForge's own checkpoint writer and
`specforge export --to hf`, and record SpecForge's own draft computation of a parallel block as a judge.

    VENV/bin/python -I specforge_peagle_fixture.py OUT_DIR [--layers 1] [--nbr]

Run with the venv made by `producer_env.sh specforge` (specforge==0.2.0, CPU torch). Nothing of SpecForge is stubbed
or patched. SpecForge 0.2 has no P-EAGLE inference (its `--to sglang` refuses P-EAGLE); the block is computed with its
draft's own modules (`embed_input_ids`, `project_hidden_states`, `backbone`, `compute_logits`) laid out as vLLM 0.33
drafts with parallel_drafting: the context (token i+1 with the verifier's aux states at i), the bonus token with the
last state, then K-1 slots of (mask_token_id, mask_hidden), consecutive positions, causal attention (a flex BlockMask).

What it writes under OUT_DIR:
  verifier/                a tiny Llama verifier (transformers save_pretrained), for the conversion
  draft_config.json        the draft config SpecForge trains from (--draft-config)
  train/fixture-step1/     SpecForge's training checkpoint (training_state.pt with peagle_mask_token_id)
  hf/                      `specforge export --to hf` of it: config.json + model.safetensors (what users convert)
  reference.safetensors    input_ids (B, n+K) with the K-1 mask slots at the end, hidden_states (B, n+K, 3H) (mask
                           slots: zeros; SpecForge's own forward put mask_hidden there), logits (B, n+K, Vd)
  fixture.json             mask_token_id, K, what was built
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time

_spec = importlib.util.spec_from_file_location(
    "_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
dir_listing, randomize_draft = _common.dir_listing, _common.randomize_draft

os.environ.setdefault("TRITON_INTERPRET", "1")  # specforge.core.loss is a triton kernel, decorated at import
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

H, INTER, HEADS, KV_HEADS, VOCAB, VERIFIER_LAYERS, EPS = 64, 128, 4, 2, 256, 8, 1e-6
MASK_TOKEN_ID, K, B, N_CTX = 3, 4, 3, 9


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=1, help="draft decoder layers")
    ap.add_argument("--nbr", action="store_true", help="norm_before_residual: true in the draft config")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    import torch
    from safetensors.torch import save_file
    from torch.nn.attention.flex_attention import create_block_mask
    from transformers import LlamaConfig, LlamaForCausalLM
    from specforge.modeling.auto import AutoDraftModelConfig
    from specforge.modeling.draft.peagle import PEagleDraftModel
    from specforge.algorithms.peagle.model import OnlinePEagleModel
    from specforge.training.strategies.base import PEagleTrainStrategy
    from specforge.training.checkpoint import CheckpointManager
    from specforge.cli import main as specforge_cli

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(args.seed)
    vcfg = LlamaConfig(vocab_size=VOCAB, hidden_size=H, intermediate_size=INTER, num_hidden_layers=VERIFIER_LAYERS,
                       num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, rms_norm_eps=EPS, rope_theta=10000.0,
                       max_position_embeddings=2048, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    verifier = LlamaForCausalLM(vcfg).eval()
    verifier.save_pretrained(os.path.join(out, "verifier"))

    cfg = {"architectures": ["PEagleDraftModel"], "model_type": "llama", "hidden_size": H, "intermediate_size": INTER,
           "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS, "num_hidden_layers": args.layers,
           "vocab_size": VOCAB, "draft_vocab_size": VOCAB, "max_position_embeddings": 2048, "rms_norm_eps": EPS,
           "pad_token_id": 0, "tie_word_embeddings": False, "rope_theta": 10000.0, "norm_before_residual": args.nbr}
    cfg_path = os.path.join(out, "draft_config.json")
    json.dump(cfg, open(cfg_path, "w"), indent=2)
    draft = PEagleDraftModel(AutoDraftModelConfig.from_file(cfg_path))  # as SpecForge's build_peagle_draft
    randomize_draft(draft, args.seed)
    with torch.no_grad():
        draft.embed_tokens.weight.copy_(verifier.model.embed_tokens.weight)  # SpecForge loads the frozen embedding from the verifier
        draft.mask_hidden.normal_(generator=torch.Generator().manual_seed(args.seed + 11))
    draft = draft.float().eval()

    peagle = OnlinePEagleModel(draft, mask_token_id=MASK_TOKEN_ID, num_depths=K)
    strategy = PEagleTrainStrategy(peagle, target_head=None)
    shared = {"draft_state_dict": strategy.checkpoint_state_filter(peagle.state_dict()), "global_step": 1, "strategy": strategy.name,
              "run_id": "fixture", "world_size": 1, "peagle_mask_token_id": MASK_TOKEN_ID}
    ckpt = CheckpointManager(os.path.join(out, "train"), "fixture").save(shared, 1, rank_state={"optimizer": None, "rng": None})
    specforge_cli(["export", "--to", "hf", "--checkpoint", ckpt, "--draft-config", cfg_path, "--output-dir", os.path.join(out, "hf")])

    # the judge runs on what the export holds (bfloat16): the exported tensors loaded back into SpecForge's draft, in float32
    from safetensors.torch import load_file
    exported = load_file(os.path.join(out, "hf", "model.safetensors"))
    missing, unexpected = draft.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in exported.items()}, strict=False)
    assert not unexpected and set(missing) <= {"embed_tokens.weight"}, (missing, unexpected)
    # the block, as vLLM lays it out: context token i+1 with aux state i (n of them, the last the bonus token), K-1 mask slots
    g = torch.Generator().manual_seed(args.seed + 5)
    L = N_CTX + K - 1
    ids = torch.randint(4, VOCAB, (B, L), generator=g)
    hs = torch.randn(B, L, 3 * H, generator=g)
    ids[:, N_CTX:], hs[:, N_CTX:] = MASK_TOKEN_ID, 0.0
    hs_in = hs.clone()
    hs_in[:, N_CTX:] = draft.mask_hidden.detach().reshape(1, 1, -1)  # SpecForge's own parameter in the mask slots
    bm = create_block_mask(lambda b, h, q, kv: q >= kv, B=None, H=None, Q_LEN=L, KV_LEN=L, device="cpu")
    pos = torch.arange(L)[None].expand(B, L)
    with torch.no_grad():
        h = draft.backbone(draft.embed_input_ids(ids), draft.project_hidden_states(hs_in), attention_mask=bm, position_ids=pos)
        logits = draft.compute_logits(h).float()
    save_file({"input_ids": ids.contiguous(), "hidden_states": hs.contiguous(), "logits": logits.contiguous()},
              os.path.join(out, "reference.safetensors"))
    info = {"specforge": __import__("importlib.metadata").metadata.version("specforge"), "mask_token_id": MASK_TOKEN_ID, "K": K,
            "context": N_CTX, "batch": B, "layers": args.layers, "norm_before_residual": args.nbr, "hf": dir_listing(os.path.join(out, "hf")),
            "seconds": round(time.perf_counter() - t0, 1)}
    json.dump(info, open(os.path.join(out, "fixture.json"), "w"), indent=1)
    print(f"specforge_peagle_fixture: {out} ({info['seconds']} s; logits {tuple(logits.shape)}, K {K})")


if __name__ == "__main__":
    main()
