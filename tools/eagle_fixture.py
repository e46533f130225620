"""Build tiny EAGLE v1/v2 drafts with the EAGLE authors' own code (eagle-llm 1.2.1) and record its own forward.

Run with the side venv made by producer_env.sh eagle (never with the project's venv):

    VENV/bin/python -I eagle_fixture.py OUT_DIR --variant V [--layers N] [--seed S]
    VENV/bin/python -I eagle_fixture.py OUT_ROOT --variant all      # every variant, OUT_ROOT/<name>/

V: v1 (config `"bias": false`, no fc.bias, like their LLaMA3 configs), v1-bias (no `bias` key, which their
loader reads as true: fc.bias, like their Vicuna / LLaMA2-chat configs), v1-linear-rope (v1 + rope_theta
500000 + rope_scaling {"type": "linear", "factor": 2.0}). eagle3 / eagle3-linear-rope are refused: eagle-llm
1.2.1 (the newest on PyPI) has no EAGLE-3 draft (its eagle/model/cnets.py is the EAGLE v1/v2 one; the GitHub
repo's cnets1.py / cnets.py / traineagle3/ were never published).

Everything is their code: EConfig (eagle/model/configs.py) reads the draft's config.json, cnets.Model builds the
draft and loads the verifier's embedding itself (load_emb=True, the way eagle/train/main.py:322 does), the
trainer's checkpoint writer accelerate.Accelerator.save_state (main.py:484) writes it, EaModel.from_pretrained
(eagle/model/ea_model.py:75-108) loads it back with their KV Llama verifier, and the logits are
`head(Model.forward(hidden_states, input_ids))` exactly as their trainer (main.py:355-360) and their inference
(cnets.py:777-781, topK_genrate) compute them. The verifier is a tiny transformers LlamaForCausalLM saved in
shards (their load_emb only reads sharded checkpoints: model.safetensors.index.json); its last hidden state
(after its final norm) is computed by their KV Llama (EaModel.base_model.model), as their inference does.
Cross-check: EaModel.forward (their first draft step of generation) on each row alone; the logits its
topK_genrate computes are read with a forward hook on the verifier's lm_head (the `head` it is given).

OUT_DIR gets: config.json + pytorch_model.bin (the draft as EaModel.from_pretrained reads it), state_0/ (the
trainer's accelerate checkpoint it was copied from), verifier/ (tiny base model + tokenizer),
reference.safetensors, fixture.json.
"""

import argparse
import copy
import json
import math
import shutil
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import torch
import eagle

if not Path(eagle.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
    raise SystemExit(f"imported eagle from {eagle.__file__}, not the eagle-llm package in {sys.prefix}; "
                     "run VENV/bin/python -I eagle_fixture.py")
if version("eagle-llm") != "1.2.1":
    raise SystemExit(f"eagle-llm 1.2.1 expected, found {version('eagle-llm')}")

from accelerate import Accelerator  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from tokenizers import Tokenizer, models  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from eagle.model.cnets import Model  # noqa: E402
from eagle.model.configs import EConfig  # noqa: E402
from eagle.model.ea_model import EaModel  # noqa: E402

H, HEADS, KV_HEADS, INTER, VOCAB, EPS = 64, 4, 2, 128, 256, 1e-5
VERIFIER_LAYERS = 2
B, T = 2, 9
TOPK = 10  # cnets.py:52 top_k (the width of topK_genrate's first topk)

VARIANTS = {
    "v1": {"bias": False},
    "v1-bias": {},  # no "bias" key: ea_model.py:42-45 defaults it to True (as for their Vicuna/LLaMA2 configs)
    "v1-linear-rope": {"bias": False, "rope_theta": 500000.0, "rope_scaling": {"type": "linear", "factor": 2.0}},
}
EAGLE3 = ("eagle3", "eagle3-linear-rope")
NO_EAGLE3 = ("eagle-llm 1.2.1, the newest on PyPI (2024-04), has no EAGLE-3 draft: its eagle/model/cnets.py is the "
             "EAGLE v1/v2 draft, and the wheel has no cnets1.py and no traineagle3/ (the GitHub repo's EAGLE-3 code, "
             "setup.py version 3.0.0, was never published)")


def draft_config(extra: dict, layers: int) -> dict:
    """The draft's config.json, in the form of their shipped training configs (GitHub eagle/train/*_config.json:
    the verifier's LlamaConfig with num_hidden_layers 1, plus `bias` / `rope_theta` in the LLaMA3 ones)."""
    return {
        "architectures": ["LlamaForCausalLM"],
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": 2048,
        "model_type": "llama",
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "num_hidden_layers": layers,
        "pad_token_id": 0,
        "rms_norm_eps": EPS,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "use_cache": True,
        "vocab_size": VOCAB,
        **copy.deepcopy(extra),
    }


def seed_params(named, gen: torch.Generator, skip=()) -> None:
    """Every parameter random (sorted by name, so the draw order is fixed); norm weights 1 + 0.1*randn."""
    with torch.no_grad():
        for name, p in sorted(named):
            if name in skip:
                continue
            r = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if "norm" in name:
                p.copy_(1.0 + 0.1 * r)  # input_layernorm, post_attention_layernorm, (verifier) norm
            elif p.ndim == 2 and "embed_tokens" not in name:
                p.copy_(r / p.shape[1] ** 0.5)  # Linear [out, in]: O(1) activations
            else:
                p.copy_(r)  # embeddings, fc.bias


def make_verifier(vdir: Path, extra: dict, gen: torch.Generator) -> None:
    """A tiny Llama verifier (transformers' own class), saved in shards so that an index exists: cnets.Model's
    load_emb (cnets.py:467-486) and their trainer's head loader (main.py:77-92) read only
    model.safetensors.index.json / pytorch_model.bin.index.json."""
    rope = {k: copy.deepcopy(extra[k]) for k in ("rope_theta", "rope_scaling") if k in extra}
    cfg = LlamaConfig(hidden_size=H, num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, intermediate_size=INTER,
                      vocab_size=VOCAB, num_hidden_layers=VERIFIER_LAYERS, rms_norm_eps=EPS, max_position_embeddings=2048,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, **rope)
    model = LlamaForCausalLM(cfg).eval()
    seed_params(model.named_parameters(), gen)
    model.save_pretrained(str(vdir), max_shard_size="100KB", safe_serialization=True)
    tok = Tokenizer(models.WordLevel({f"<t{i}>": i for i in range(VOCAB)}, unk_token="<t0>"))
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<t1>", eos_token="<t2>").save_pretrained(str(vdir))


def rope_facts(rot, theta_declared) -> dict:
    d = rot.dim
    ar = torch.arange(0, d, 2).float() / d
    out = {"class": type(rot).__name__, "base_attr": rot.base, "dim": d,
           "scaling_factor": getattr(rot, "scaling_factor", None),
           "inv_freq": [round(x, 9) for x in rot.inv_freq.tolist()],
           "inv_freq_is_base_10000": torch.allclose(rot.inv_freq, 1.0 / 10000.0 ** ar, rtol=0, atol=0)}
    if theta_declared is not None:
        out[f"inv_freq_is_base_{theta_declared:g}"] = torch.allclose(rot.inv_freq, 1.0 / theta_declared ** ar, rtol=1e-6)
    # the cos table it uses at position 3, against cos(3 / factor * inv_freq) (linear scaling divides positions)
    f = out["scaling_factor"] or 1.0
    want = torch.cat([3.0 / f * rot.inv_freq] * 2).cos()
    out["cos_cached_pos3_matches_pos_over_factor"] = torch.allclose(rot.cos_cached[0, 0, 3], want, atol=1e-6)
    return out


def make_one(out_dir: Path, name: str, layers: int, seed: int) -> dict:
    t0 = time.time()
    extra = VARIANTS[name]
    gen = torch.Generator().manual_seed(seed)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    vdir = out_dir / "verifier"
    make_verifier(vdir, extra, gen)

    # the draft's config.json, read back by their own config class (main.py:321 EConfig.from_pretrained)
    cfg_dict = draft_config(extra, layers)
    (out_dir / "config.json").write_text(json.dumps(cfg_dict, indent=2) + "\n")
    config = EConfig.from_pretrained(str(out_dir / "config.json"))
    # bias: how their loader reads it (ea_model.py:40-46: config.json's "bias", True when absent). Their 1.2.1
    # trainer (main.py:322) passes no bias, i.e. always trains with fc.bias.
    bias = cfg_dict.get("bias", True)
    draft = Model(config, load_emb=True, path=str(vdir), bias=bias)  # their trainer's constructor call
    seed_params(draft.named_parameters(), gen, skip={"embed_tokens.weight"})  # embedding: the verifier's, frozen

    # their trainer's head: a bias-free Linear holding the verifier's lm_head (main.py:75-98), then
    # accelerator.prepare(model, head, ...) (main.py:336) and accelerator.save_state(cpdir/state_{epoch}) (main.py:484)
    head = torch.nn.Linear(H, VOCAB, bias=False)
    from safetensors import safe_open
    idx = json.loads((vdir / "model.safetensors.index.json").read_text())["weight_map"]
    with safe_open(str(vdir / idx["lm_head.weight"]), "pt") as f:
        head.weight.data = f.get_tensor("lm_head.weight").float()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        accelerator = Accelerator(mixed_precision="bf16")  # as main.py:55
        p_draft, p_head = accelerator.prepare(copy.deepcopy(draft), head)
        accelerator.save_state(output_dir=str(out_dir / "state_0"))
    mixed_precision = accelerator.mixed_precision
    shutil.copy(out_dir / "state_0" / "pytorch_model.bin", out_dir / "pytorch_model.bin")
    saved = torch.load(out_dir / "pytorch_model.bin", map_location="cpu", weights_only=True)
    for k, v in draft.state_dict().items():
        assert torch.equal(saved[k], v), k

    # load it back the way their inference does: EaModel.from_pretrained (config.json + pytorch_model.bin,
    # load_state_dict strict=True), with their KV Llama as the verifier
    ea = EaModel.from_pretrained(base_model_path=str(vdir), ea_model_path=str(out_dir)).eval()
    ea_layer, lm_head = ea.ea_layer, ea.base_model.lm_head
    assert type(ea_layer).__module__ == "eagle.model.cnets" and (ea_layer.fc.bias is not None) == bias

    # inputs: B prompts of T tokens; their verifier's last hidden state (after its final norm: ea_model.py:124-132,
    # as ge_data's outs_big.hidden_states[-1]); the next token = the verifier's greedy choice (ea_model.py:140);
    # the draft consumes ids shifted by one (cnets.py:765 input_ids[:, 1:]; main.py:162 input_ids[:, 1:]):
    # at position t, the verifier's state of token t with the embedding of token t+1
    prompt = torch.randint(3, VOCAB, (B, T), generator=gen)
    with torch.no_grad():
        hidden = ea.base_model.model(input_ids=prompt)[0]
        nxt = lm_head(hidden)[:, -1].argmax(-1)
    input_ids = torch.cat([prompt[:, 1:], nxt[:, None]], dim=1)
    position_ids = torch.arange(T).expand(B, T).contiguous()  # what its forward defaults to (cnets.py:569-574)

    # THEIR forward, batched as their trainer calls it (main.py:355 model(hidden_states, input_ids=...,
    # attention_mask=...)); logits = head(out) (main.py:360; cnets.py:781 in topK_genrate)
    with torch.no_grad():
        out_hidden = ea_layer(hidden, input_ids=input_ids, attention_mask=torch.ones(B, T, dtype=torch.long))
        logits = lm_head(out_hidden)
        checks = {}
        o2 = ea_layer(hidden, input_ids=input_ids, position_ids=position_ids)
        checks["explicit_positions_vs_default_maxabs"] = (o2 - out_hidden).abs().max().item()
        o3, kv = ea_layer(hidden, input_ids=input_ids, use_cache=True)  # the path topK_genrate takes
        checks["use_cache_vs_plain_maxabs"] = (o3 - out_hidden).abs().max().item()
        # teacher-forced prefix: position t sees only positions <= t (causal)
        o4 = ea_layer(hidden[:, :5], input_ids=input_ids[:, :5])
        checks["prefix5_vs_full_maxabs"] = (o4 - out_hidden[:, :5]).abs().max().item()

    # cross-check with their inference's first draft step: EaModel.forward(prompt row) runs the verifier,
    # appends its greedy token and calls ea_layer.topK_genrate(hidden, ids, lm_head, None); the head's second
    # call in it is head(out_hidden[:, -1]) = step 0's logits at the last position (cnets.py:777-781)
    inf = []
    for b in range(B):
        calls = []
        h = lm_head.register_forward_hook(lambda m, i, o: calls.append(o.detach().clone()))
        try:
            ea_layer.reset_kv()  # as eagenerate does before generating
            ea_logits, _, _, hs, token = ea(input_ids=prompt[b : b + 1], output_orig=True)
        finally:
            h.remove()
        assert int(token) == int(nxt[b])
        checks[f"row{b}_verifier_hidden_maxabs"] = (hs[0] - hidden[b]).abs().max().item()
        checks[f"row{b}_topK_genrate_step0_last_logits_maxabs"] = (calls[1][0] - logits[b, -1]).abs().max().item()
        assert torch.equal(ea_logits[0][0], calls[1][0].topk(TOPK).indices)  # its first ss_token row
        inf.append(calls[1][0])
    for k, v in checks.items():
        assert v < 1e-5, (name, k, v)
    topk_same = all(torch.equal(inf[b].topk(TOPK).indices, logits[b, -1].topk(TOPK).indices) for b in range(B))

    # RoPE: which base / scaling their rotary embedding really uses (the draft's, and their KV Llama verifier's)
    theta = cfg_dict.get("rope_theta")
    rope = {"draft": rope_facts(ea_layer.layers[0].self_attn.rotary_emb, theta),
            "verifier_kv_llama": rope_facts(ea.base_model.model.layers[0].self_attn.rotary_emb, theta)}
    # for contrast: the verifier's own transformers class (not what their inference runs) honours rope_theta
    hf_inv = LlamaForCausalLM.from_pretrained(str(vdir)).model.rotary_emb.inv_freq
    ar = torch.arange(0, H // HEADS, 2).float() / (H // HEADS)
    fac = (cfg_dict.get("rope_scaling") or {}).get("factor", 1.0)  # transformers' linear rope divides inv_freq
    rope["verifier_transformers_llama_inv_freq_base"] = next(
        (b for b in (10000.0, 500000.0) if torch.allclose(hf_inv, 1.0 / b ** ar / fac, rtol=1e-6)), None)
    effects = {}
    if "rope_theta" in cfg_dict or "rope_scaling" in cfg_dict:
        for drop in ("rope_theta", "rope_scaling"):
            if drop not in cfg_dict:
                continue
            c = {k: v for k, v in cfg_dict.items() if k != drop}
            m = Model(EConfig(**c), bias=bias).eval()
            m.load_state_dict(ea_layer.state_dict(), strict=True)
            with torch.no_grad():
                lg = lm_head(m(hidden, input_ids=input_ids))
            effects[f"without_{drop}_maxabs"] = (lg - logits).abs().max().item()

    embed = ea_layer.embed_tokens.weight.detach()
    assert torch.equal(embed, ea.base_model.model.embed_tokens.weight)  # load_emb copied the verifier's
    ref = {
        "input_ids": input_ids,  # what the draft's forward consumes (prompt shifted by one + greedy token)
        "verifier_input_ids": prompt,  # the tokens whose verifier states hidden_states are
        "hidden_states": hidden,  # verifier's last hidden state, after its final norm (B, T, H)
        "position_ids": position_ids,
        "embed": embed,  # (V, H): the verifier's embed_tokens (= the draft's embed_tokens.weight)
        "head": lm_head.weight.detach(),  # (V, H): the verifier's lm_head; the draft has none
        "logits": logits,  # (B, T, V): head(Model.forward(hidden_states, input_ids))
        "out_hidden": out_hidden,  # (B, T, H): what the draft returns and feeds back (cnets.py:808)
        "draft_token_ids": logits.argmax(-1),
    }
    ref = {k: v.contiguous().clone() for k, v in ref.items()}
    save_file(ref, str(out_dir / "reference.safetensors"),
              metadata={"producer": f"eagle-llm {version('eagle-llm')}", "variant": name})

    info = {
        "variant": name,
        "num_hidden_layers": layers,
        "seed": seed,
        "bias": bias,
        "bias_key_in_config": "bias" in cfg_dict,
        "versions": {p: version(p) for p in ("eagle-llm", "torch", "transformers", "accelerate", "safetensors")},
        "classes": {"config": f"{EConfig.__module__}.{EConfig.__qualname__}",
                    "draft": f"{type(ea_layer).__module__}.{type(ea_layer).__qualname__}",
                    "verifier": f"{type(ea.base_model).__module__}.{type(ea.base_model).__qualname__}"},
        "accelerator_mixed_precision": mixed_precision,
        "saved_tensors": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sorted(saved.items())},
        "state_0_files": sorted(p.name for p in (out_dir / "state_0").iterdir()),
        "reference": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in ref.items()},
        "checks": checks,
        "topK_genrate_top10_same_as_logits": topk_same,
        "rope": rope,
        "rope_config_effects": effects,
        "seconds": round(time.time() - t0, 2),
    }
    (out_dir / "fixture.json").write_text(json.dumps(info, indent=1) + "\n")
    r = rope["draft"]
    print(f"{name}: {out_dir} ({len(saved)} tensors, {info['seconds']} s; max cross-check diff "
          f"{max(checks.values()):.1e}; draft rotary {r['class']} base {r['base_attr']} factor {r['scaling_factor']}"
          f"{'; ' + ', '.join(f'{k}={v:.2g}' for k, v in effects.items()) if effects else ''})")
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--variant", required=True, help=f"{', '.join(VARIANTS)}, all ({', '.join(EAGLE3)}: refused)")
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()  # "Some weights ... not initialized: inv_freq" (their KV Llama's buffers)
    hf_logging.disable_progress_bar()
    if a.variant in EAGLE3:
        raise SystemExit(f"{a.variant}: {NO_EAGLE3}")
    if a.variant != "all":
        if a.variant not in VARIANTS:
            raise SystemExit(f"unknown variant {a.variant!r}; known: {', '.join(VARIANTS)}, all")
        make_one(a.out_dir, a.variant, a.layers, a.seed)
        return
    t0 = time.time()
    index = {name: make_one(a.out_dir / name, name, a.layers, a.seed) for name in VARIANTS}
    index["_unavailable"] = {v: NO_EAGLE3 for v in EAGLE3}
    (a.out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"all: {len(VARIANTS)} variants in {time.time() - t0:.1f} s; {', '.join(EAGLE3)}: unavailable")


if __name__ == "__main__":
    sys.exit(main())
