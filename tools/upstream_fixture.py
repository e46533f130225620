"""Build tiny EAGLE-3 drafts with the upstream `speculators` 0.9 package and record its own forward.

Run with the side venv made by producer_env.sh upstream (never with the project's venv):

    VENV/bin/python -I upstream_fixture.py OUT_DIR --variant V [--layers N] [--seed S]
    VENV/bin/python -I upstream_fixture.py OUT_ROOT --variant all      # the whole matrix, OUT_ROOT/<name>/

(-I: our own package is also named `speculators`; a cwd/PYTHONPATH holding it would shadow upstream's. The
script checks that the imported package lives in the venv and is 0.9.x.)

V is `plain` or flags joined by '+' (`--qwen3`: Qwen3 decoder layers): norm_before_fc, fc_norm, norm_output, norm_before_residual
(e.g. `norm_before_fc+norm_output`). Upstream refuses norm_before_fc+fc_norm (its config validator);
`input_norm` is not a config flag in 0.9 (it is the module norm_before_fc creates), so it is refused here.

Everything is upstream's own code: Eagle3SpeculatorConfig, Eagle3DraftModel, its
build_vocab_mappings_from_distribution / load_vocab_mappings for d2t/t2d, its save_pretrained and its
forward. Logits are read with torch forward hooks on the model's own `lm_head` and `norm` modules (the
forward returns only argmax draft tokens when no verifier_last_hidden_states is given); nothing is patched.

OUT_DIR gets: config.json + model.safetensors (upstream save_pretrained), reference.safetensors, fixture.json.
"""

import argparse
import itertools
import json
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import torch
import speculators

if not Path(speculators.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()):
    raise SystemExit(
        f"imported speculators from {speculators.__file__}, not the upstream package in {sys.prefix}: "
        "our own package of the same name is shadowing it (cwd or PYTHONPATH); run VENV/bin/python -I upstream_fixture.py"
    )
if not version("speculators").startswith("0.9."):
    raise SystemExit(f"upstream speculators 0.9.x expected, found {version('speculators')}")

from safetensors import safe_open  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import LlamaConfig, Qwen3Config
from transformers.utils import logging as hf_logging

from speculators import (  # noqa: E402
    Eagle3DraftModel,
    Eagle3SpeculatorConfig,
    SpeculatorsConfig,
    VerifierConfig,
)
from speculators.proposals.greedy import GreedyTokenProposalConfig
from speculators.train.vocab_mapping import build_vocab_mappings_from_distribution

FLAGS = ("norm_before_fc", "fc_norm", "norm_output", "norm_before_residual")
H, HEADS, KV_HEADS, INTER, VOCAB, DRAFT_VOCAB, EPS = 64, 4, 2, 128, 256, 128, 1e-5
B, T, TTT_STEPS = 2, 7, 3
PAD_TO = 128  # its flex BlockMask block size; its trainer pads every batch to max_len
AUX_IDS = [2, 4, 5]  # what upstream's resolve_target_layer_ids gives for an 8-layer verifier
AUX_SCALES = (1.0, 3.0, 0.5)  # per-aux-layer scale of the random hidden states (makes fc_norm != norm_before_fc)
VERIFIER = "tiny/verifier"


def parse_variant(v: str) -> dict:
    if v == "plain":
        return dict.fromkeys(FLAGS, False)
    parts = v.split("+")
    if "input_norm" in parts:
        raise SystemExit(
            "input_norm: speculators 0.9 has no such config flag; `input_norm` is the RMSNorm over the "
            "concatenated aux hidden states that norm_before_fc=True creates (weight input_norm.weight, "
            "size 3*hidden). Use --variant norm_before_fc."
        )
    bad = [p for p in parts if p not in FLAGS]
    if bad:
        raise SystemExit(f"unknown flag(s) {bad}; known: plain, {', '.join(FLAGS)}")
    return {f: f in parts for f in FLAGS}


def variant_name(flags: dict, layers: int, qwen3: bool = False) -> str:
    on = [f for f in FLAGS if flags[f]]
    name = "+".join(on) if on else "plain"
    return (name if layers == 1 else f"{name}-{layers}layers") + ("-qwen3" if qwen3 else "")


def build_config(flags: dict, layers: int, qwen3: bool = False) -> Eagle3SpeculatorConfig:
    tl = (Qwen3Config if qwen3 else LlamaConfig)(  # Qwen3 layers: q_norm/k_norm per head
        hidden_size=H,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        intermediate_size=INTER,
        vocab_size=VOCAB,
        rms_norm_eps=EPS,
        num_hidden_layers=layers,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        head_dim=H // HEADS,
    )
    return Eagle3SpeculatorConfig(  # raises ValueError for norm_before_fc+fc_norm (its validator)
        transformer_layer_config=tl,
        draft_vocab_size=DRAFT_VOCAB,
        eagle_aux_hidden_state_layer_ids=AUX_IDS,
        speculators_config=SpeculatorsConfig(
            algorithm="eagle3",
            proposal_methods=[GreedyTokenProposalConfig(speculative_tokens=TTT_STEPS)],
            default_proposal_method="greedy",
            verifier=VerifierConfig(name_or_path=VERIFIER, architectures=["LlamaForCausalLM"]),
        ),
        **flags,
    )


def seed_weights(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Every parameter random (sorted by name, so the draw order is fixed); norm weights 1 + 0.1*randn."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            r = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if any("norm" in part for part in name.split(".")[:-1]):
                p.copy_(1.0 + 0.1 * r)  # *norm.weight, *_layernorm.weight, hidden_norm, fc_norm.i, input_norm
            elif p.ndim == 2 and not name.startswith("embed_tokens"):
                p.copy_(r / p.shape[1] ** 0.5)  # Linear [out, in]: O(1) activations
            else:
                p.copy_(r)  # embed_tokens


def vocab_maps(gen: torch.Generator):
    """d2t (offsets) / t2d (bool) from upstream's own builder, over a random token-frequency table."""
    counts = torch.randint(1, 1000, (VOCAB,), generator=gen)
    freq = {i: int(c) for i, c in enumerate(counts)}
    return build_vocab_mappings_from_distribution(freq, DRAFT_VOCAB, VOCAB)


def run_forward(model, hidden, ids, doc, pos, steps=TTT_STEPS):
    """Upstream forward (inference signature: no verifier_last_hidden_states -> returns draft tokens);
    per-TTT-step logits and the norm's input/output are read by hooks on its own modules."""
    logits, norm_io = [], []
    h1 = model.lm_head.register_forward_hook(lambda m, i, o: logits.append(o.detach().clone()))
    h2 = model.norm.register_forward_hook(
        lambda m, i, o: norm_io.append((i[0].detach().clone(), o.detach().clone()))
    )
    try:
        with torch.no_grad():
            tokens = model(hidden_states=hidden, input_ids=ids, document_ids=doc, position_ids=pos, ttt_steps=steps)
    finally:
        h1.remove()
        h2.remove()
    assert len(logits) == steps and len(norm_io) == steps, (len(logits), len(norm_io))
    for k in range(steps):  # the hooked logits are the ones its forward argmaxed
        assert torch.equal(tokens[k], logits[k].argmax(-1))
    return logits, norm_io


def pad_like_trainer(hidden, ids, pos, doc, max_len=PAD_TO):
    """As its collate does (speculators/train/data.py): zeros up to max_len, document_ids -1 there."""
    n = ids.shape[1]
    z = lambda x: torch.cat([x, x.new_zeros((1, max_len - n, *x.shape[2:]))], dim=1)  # noqa: E731
    return z(hidden), z(ids), z(pos), torch.cat([doc, doc.new_full((1, max_len - n), -1)], dim=1)


def run_rows(model, hidden, input_ids, position_ids, steps=TTT_STEPS, pad=True):
    """Each of the B rows as its own forward call ([1, T], one document), optionally padded like the trainer;
    returns per-step logits [B, T, V] and step 0's (prenorm, postnorm) [B, T, H]."""
    outs = []
    for b in range(hidden.shape[0]):
        args = (hidden[b : b + 1], input_ids[b : b + 1], position_ids[b : b + 1] if position_ids is not None else None,
                torch.zeros(1, T, dtype=torch.long))
        if pad:
            args = pad_like_trainer(*args)
        h, i, p, d = args
        outs.append(run_forward(model, h, i, d, p, steps))
    logits = [torch.cat([o[0][k][:, :T] for o in outs]) for k in range(steps)]
    norm0 = tuple(torch.cat([o[1][0][j][:, :T] for o in outs]) for j in (0, 1))
    return logits, norm0


def make_one(out_dir: Path, flags: dict, layers: int, seed: int, qwen3: bool = False) -> dict:
    t0 = time.time()
    name = variant_name(flags, layers, qwen3)
    gen = torch.Generator().manual_seed(seed)
    config = build_config(flags, layers, qwen3)
    model = Eagle3DraftModel(config).eval()
    seed_weights(model, gen)
    d2t, t2d = vocab_maps(gen)
    model.load_vocab_mappings(t2d, d2t)  # its own loader (checks shapes and sum(t2d) == draft_vocab_size)
    assert torch.equal(model.d2t, d2t) and torch.equal(model.t2d, t2d)

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))

    # inputs: B rows of T tokens (verifier-vocab ids) and the verifier's aux hidden states, concatenated
    # along the last dim in eagle_aux_hidden_state_layer_ids order: [h_2 | h_4 | h_5] -> (B, T, 3H)
    input_ids = torch.randint(0, VOCAB, (B, T), generator=gen)
    aux = [s * torch.randn(B, T, H, generator=gen) + 0.1 * s for s in AUX_SCALES]
    hidden = torch.cat(aux, dim=-1)
    position_ids = torch.arange(T).expand(B, T).contiguous()

    # canonical: each row its own call with its default attention (simple_flex_attention), padded to
    # PAD_TO like its trainer's collate (its flex TTT mask extension needs whole 128-token blocks)
    logits, (prenorm, postnorm) = run_rows(model, hidden, input_ids, position_ids)

    checks = {}
    # cross-check 1: unpadded rows, default flex attention: step 0 only (step 1 raises in flex_attention:
    # "block_mask was created for ... (1, 1, 128, 256) but got q_len=7 and kv_len=14")
    lg, _ = run_rows(model, hidden, input_ids, position_ids, steps=1, pad=False)
    checks["flex_unpadded_vs_padded_step0_maxabs"] = (lg[0] - logits[0]).abs().max().item()
    # cross-check 2: its default position_ids (1 + arange, as shift_batch yields): RoPE is relative
    lg, _ = run_rows(model, hidden, input_ids, None, steps=1, pad=False)
    checks["default_positions_vs_arange_step0_maxabs"] = (lg[0] - logits[0]).abs().max().item()
    # cross-check 3: both rows packed in one [1, B*T] sequence with document_ids 0/1, padded (its trainer's
    # batching); for step k only positions t < T-k (teacher forcing shifts the packed ids across the rows)
    h, i, p, d = pad_like_trainer(hidden.reshape(1, B * T, 3 * H), input_ids.reshape(1, B * T),
                                  position_ids.reshape(1, B * T), torch.arange(B).repeat_interleave(T).unsqueeze(0))
    pk, _ = run_forward(model, h, i, d, p)
    for k in range(TTT_STEPS):
        diff = pk[k][0, : B * T].reshape(B, T, -1)[:, : T - k] - logits[k][:, : T - k]
        checks[f"packed_vs_rows_step{k}_maxabs"] = diff.abs().max().item()
    # cross-check 4: the same weights under attn_implementation="eager" (dense float mask), unpadded
    config_e = build_config(flags, layers, qwen3)
    config_e.transformer_layer_config._attn_implementation = "eager"  # noqa: SLF001 (a config value it reads)
    model_e = Eagle3DraftModel(config_e).eval()
    model_e.load_state_dict(model.state_dict())
    lg, _ = run_rows(model_e, hidden, input_ids, position_ids, pad=False)
    for k in range(TTT_STEPS):
        checks[f"eager_unpadded_vs_flex_step{k}_maxabs"] = (lg[k] - logits[k]).abs().max().item()
    for key, val in checks.items():
        assert val < 1e-4, (name, key, val)

    # does each flag show? the same weights in a draft with that one flag off (its extra norm modules
    # dropped): how far its logits move, per TTT step (norm_output cannot move step 0: lm_head(norm(h)) both ways)
    effects = {}
    for f in FLAGS:
        if flags[f]:
            model_off = Eagle3DraftModel(build_config({**flags, f: False}, layers, qwen3)).eval()
            missing, _ = model_off.load_state_dict(model.state_dict(), strict=False)
            assert not missing, missing
            lg, _ = run_rows(model_off, hidden, input_ids, position_ids)
            for k in range(TTT_STEPS):
                effects[f"{f}_off_step{k}_maxabs"] = (lg[k] - logits[k]).abs().max().item()

    # the saved file holds exactly the model's tensors (minus its _keys_to_ignore_on_save)
    sd = model.state_dict()
    with safe_open(str(out_dir / "model.safetensors"), "pt") as f:
        saved = {k: f.get_tensor(k) for k in f.keys()}
    for k, v in saved.items():
        assert torch.equal(v, sd[k]), k
    not_saved = sorted(set(sd) - set(saved))

    draft_tok = logits[0].argmax(-1)
    ref = {
        "input_ids": input_ids,
        "hidden_states": hidden,
        "position_ids": position_ids,
        "logits": logits[0],
        "prenorm_hidden": prenorm,
        "postnorm_hidden": postnorm,
        "next_hidden": postnorm if flags["norm_output"] else prenorm,
        "draft_token_ids": draft_tok,
        "target_token_ids": draft_tok + d2t[draft_tok],
    }
    for k in range(1, TTT_STEPS):
        ref[f"logits_ttt{k}"] = logits[k]
    ref = {k: v.contiguous().clone() for k, v in ref.items()}
    save_file(ref, str(out_dir / "reference.safetensors"),
              metadata={"producer": f"speculators {version('speculators')}", "variant": name})

    info = {
        "variant": name,
        "flags": flags,
        "num_hidden_layers": layers,
        "seed": seed,
        "versions": {p: version(p) for p in ("speculators", "torch", "transformers", "safetensors")},
        "attn_implementation": model._attn_impl,  # noqa: SLF001
        "aux_scales": AUX_SCALES,
        "saved_tensors": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sorted(saved.items())},
        "state_dict_not_saved": not_saved,
        "reference": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in ref.items()},
        "checks": checks,
        "flag_effects": effects,
        "seconds": round(time.time() - t0, 2),
    }
    (out_dir / "fixture.json").write_text(json.dumps(info, indent=1) + "\n")
    eff = ", ".join(f"{k}={v:.2g}" for k, v in effects.items() if k.endswith(("step0_maxabs", "step1_maxabs")))
    print(f"{name}: {out_dir} ({len(saved)} tensors, {info['seconds']} s; "
          f"max cross-check diff {max(checks.values()):.1e}{'; ' + eff if eff else ''})")
    return info


def matrix():
    """Every combination upstream allows with 1 layer, then two 2-layer drafts, then two with Qwen3 layers."""
    out = []
    for nbf, fcn, no, nbr in itertools.product([False, True], repeat=4):
        if nbf and fcn:
            continue  # forbidden by Eagle3SpeculatorConfig._check_norm_flags
        out.append((dict(zip(FLAGS, (nbf, fcn, no, nbr))), 1, False))
    out.append((dict.fromkeys(FLAGS, False), 2, False))
    out.append(({"norm_before_fc": True, "fc_norm": False, "norm_output": True, "norm_before_residual": True}, 2, False))
    out.append((dict.fromkeys(FLAGS, False), 1, True))
    out.append(({"norm_before_fc": False, "fc_norm": True, "norm_output": True, "norm_before_residual": False}, 2, True))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--variant", required=True)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--qwen3", action="store_true", help="Qwen3 decoder layers (q_norm/k_norm) instead of Llama's")
    a = ap.parse_args()
    torch.set_num_threads(1)
    hf_logging.disable_progress_bar()  # save_pretrained's "Writing model shards" bar
    warnings.filterwarnings("ignore", message="flex_attention called without torch.compile")  # CPU: unfused path
    if a.variant != "all":
        flags = parse_variant(a.variant)
        try:
            build_config(flags, a.layers, a.qwen3)
        except ValueError as e:  # its config validator (pydantic ValidationError)
            msg = e.errors()[0]["msg"] if hasattr(e, "errors") else str(e)
            raise SystemExit(f"{a.variant}: refused by speculators {version('speculators')}: {msg}") from None
        make_one(a.out_dir, flags, a.layers, a.seed, a.qwen3)
        return
    t0 = time.time()
    index = {}
    for flags, layers, qwen3 in matrix():
        name = variant_name(flags, layers, qwen3)
        index[name] = make_one(a.out_dir / name, flags, layers, a.seed, qwen3)
    try:
        build_config({"norm_before_fc": True, "fc_norm": True, "norm_output": False,
                      "norm_before_residual": False}, 1)
        forbidden = "accepted (unexpected)"
    except ValueError as e:
        msg = e.errors()[0]["msg"] if hasattr(e, "errors") else str(e)  # pydantic ValidationError
        forbidden = f"{type(e).__name__}: {msg}"
    index["_forbidden"] = {"norm_before_fc+fc_norm": forbidden}
    (a.out_dir / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"all: {len(index) - 1} variants in {time.time() - t0:.1f} s; norm_before_fc+fc_norm -> {forbidden}")


if __name__ == "__main__":
    sys.exit(main())
