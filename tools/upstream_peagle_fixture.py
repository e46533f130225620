#!/usr/bin/env python
"""Build tiny P-EAGLE drafts with the upstream `speculators` 0.9 package, saved by its own save_pretrained (already in
the Speculators format, `speculators_model_type: peagle`), and record a parallel block computed with its own modules.

    VENV/bin/python -I upstream_peagle_fixture.py OUT_ROOT

Run with the side venv made by `producer_env.sh upstream` (-I: our own package is also named `speculators`).
Upstream 0.9's PEagleDraftModel has a training forward only (COD sampling; no drafting method), so the block is
computed with its own modules (embed_tokens, fc, layers with its rotary embedding and a causal flex BlockMask, norm,
lm_head), laid out as vLLM 0.33 drafts with parallel_drafting: the context, the bonus token with the last verifier
state, then K-1 slots of (mask_token_id, mask_hidden). Nothing is stubbed or patched.

OUT_ROOT gets verifier/ (a tiny Llama, safetensors) and one directory per variant (plain, L2-nbr, fc_norm), each with
config.json + config.py + model.safetensors (upstream save_pretrained), and beside it NAME.reference.safetensors (not inside: vLLM reads every *.safetensors of a draft directory): input_ids (B, n+K-1),
hidden_states (B, n+K-1, 3H) (mask slots: zeros), logits (B, n+K-1, V); fixture.json lists them.
"""
import argparse
import importlib.util
import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_common)
randomize_draft = _common.randomize_draft

H, INTER, HEADS, KV, VOCAB, VLAYERS, MASK, K, B, N_CTX = 64, 128, 4, 2, 256, 8, 3, 4, 3, 9
VARIANTS = {"plain": dict(layers=1), "L2-nbr": dict(layers=2, norm_before_residual=True), "fc_norm": dict(layers=1, fc_norm=True)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    t0 = time.time()
    import torch
    import speculators
    assert speculators.__file__.startswith(sys.prefix) and version("speculators").startswith("0.9"), speculators.__file__
    from safetensors.torch import save_file
    from torch.nn.attention.flex_attention import create_block_mask
    from transformers import LlamaConfig, LlamaForCausalLM
    from speculators import SpeculatorsConfig, VerifierConfig
    from speculators.models.peagle import PEagleDraftModel, PEagleSpeculatorConfig
    from speculators.proposals.greedy import GreedyTokenProposalConfig

    out = Path(a.out).resolve(); out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(a.seed)
    vcfg = LlamaConfig(hidden_size=H, intermediate_size=INTER, num_attention_heads=HEADS, num_key_value_heads=KV, num_hidden_layers=VLAYERS,
                       vocab_size=VOCAB, max_position_embeddings=2048, tie_word_embeddings=False, architectures=["LlamaForCausalLM"])
    LlamaForCausalLM(vcfg).save_pretrained(out/"verifier")
    index = {"speculators": version("speculators"), "mask_token_id": MASK, "K": K, "variants": {}}
    for name, v in VARIANTS.items():
        tl = LlamaConfig(hidden_size=H, intermediate_size=INTER, num_attention_heads=HEADS, num_key_value_heads=KV,
                         num_hidden_layers=v["layers"], vocab_size=VOCAB, max_position_embeddings=2048)
        tl._attn_implementation = "simple_flex_attention"
        cfg = PEagleSpeculatorConfig(
            transformer_layer_config=tl, draft_vocab_size=VOCAB, eagle_aux_hidden_state_layer_ids=[2, 4, 5], mask_token_id=MASK,
            norm_before_residual=v.get("norm_before_residual", False), fc_norm=v.get("fc_norm", False),
            speculators_config=SpeculatorsConfig(algorithm="peagle", proposal_methods=[GreedyTokenProposalConfig(speculative_tokens=K)],
                                                 default_proposal_method="greedy",
                                                 verifier=VerifierConfig(name_or_path="meta-llama/Llama-3.1-8B-Instruct", architectures=["LlamaForCausalLM"])))
        m = PEagleDraftModel(cfg).eval()
        randomize_draft(m, a.seed)
        with torch.no_grad():
            g = torch.Generator().manual_seed(a.seed + 3)
            for mod in (m.embed_tokens, m.lm_head):   # NaN-initialised by upstream until trained
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * 0.1)
            m.mask_hidden.copy_(torch.randn(m.mask_hidden.shape, generator=g))
        d = out/name
        m.save_pretrained(d)
        gi = torch.Generator().manual_seed(a.seed + 5)
        L = N_CTX + K - 1
        ids = torch.randint(4, VOCAB, (B, L), generator=gi)
        hs = torch.randn(B, L, 3 * H, generator=gi)
        ids[:, N_CTX:], hs[:, N_CTX:] = MASK, 0.0
        hs_in = hs.clone(); hs_in[:, N_CTX:] = m.mask_hidden.detach().reshape(1, 1, -1)
        bm = create_block_mask(lambda b, h, q, kv: q >= kv, B=None, H=None, Q_LEN=L, KV_LEN=L, device="cpu")
        pos = torch.arange(L)[None].expand(B, L)
        with torch.no_grad():
            a_ = hs_in   # as upstream's own forward (peagle/core.py: input_norm, then the fc_norms, then fc), mask slots included
            if m.input_norm is not None: a_ = m.input_norm(a_)
            if m.fc_norm is not None: a_ = torch.cat([n(c) for n, c in zip(m.fc_norm, a_.chunk(len(m.fc_norm), -1))], -1)
            x = torch.cat([m.embed_tokens(ids), m.fc(a_)], -1)
            pe = m.rotary_emb(x, pos)
            for layer in m.layers:
                x = layer(x, attention_mask=bm, position_ids=pos, position_embeddings=pe)
                if isinstance(x, tuple): x = x[0]
            logits = m.lm_head(m.norm(x)).float()
        save_file({"input_ids": ids.contiguous(), "hidden_states": hs.contiguous(), "logits": logits.contiguous()}, out/f"{name}.reference.safetensors")
        index["variants"][name] = {**v, "files": sorted(os.listdir(d))}
    (out/"fixture.json").write_text(json.dumps(index, indent=1))
    print(f"upstream_peagle_fixture: {len(VARIANTS)} drafts in {out} ({time.time() - t0:.1f} s)")


if __name__ == "__main__":
    main()
