#!/usr/bin/env python
"""Producer fixture and judge: a tiny EAGLE-3 draft built, exported and run by NVIDIA ModelOpt itself.

Run with the python of a venv made by producer_env.sh modelopt-0.39 or modelopt-0.47:

    VENV/bin/python modelopt_fixture.py OUT_DIR [--layers N] [--draft-vocab Vd] [--seed S] [--aux-ids 1 2 ...]

Writes
  OUT_DIR/base/                 the tiny LlamaForCausalLM base (HF save_pretrained, before conversion)
  OUT_DIR/draft/                ModelOpt's own HF export of the draft (config.json, model.safetensors)
  OUT_DIR/reference.safetensors inputs, the aux hidden states ModelOpt's draft consumes, and the draft's
                                first-step logits from ModelOpt's own `HFEagleModel._eagle_forward`
  OUT_DIR/report.json           versions, timings, exported names/shapes, draft params not exported, checks

Everything EAGLE-specific is ModelOpt's code: `mtsp.convert(model, [("eagle", cfg)])` with the EAGLE-3
preset of the installed version, its exporter, its base-forward hooks (`_aux_hidden_states`), its input
preparation helpers, its `_eagle_forward`, and its `pseudo_speculative_generate` (as a cross-check via
forward hooks). Nothing here is patched or reimplemented. CPU, float32.
"""
import argparse, copy, json, math, sys, time
from pathlib import Path

import torch

T0 = time.time()
H, HEADS, KV, INTER, LAYERS, VOCAB, MAXPOS = 64, 4, 2, 128, 6, 256, 2048
B, T = 2, 7


def vtuple(v):
    return tuple(int(x) for x in v.split("+")[0].split(".")[:2])


def randomize_(module, g, what):
    "Seeded random weights: matrices N(0, 1/fan_in), vectors (norms) 1 + 0.1*randn."
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim == 1:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]))
            what.append(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=1, help="draft decoder layers (eagle num_hidden_layers)")
    ap.add_argument("--draft-vocab", type=int, default=None, help="draft vocab Vd (< 256 adds d2t); default: 256")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--aux-ids", type=int, nargs="*", default=None,
                    help="eagle_aux_hidden_state_layer_ids (ModelOpt numbering); default: ModelOpt's own default")
    args = ap.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}

    import modelopt, transformers
    from transformers import LlamaConfig, LlamaForCausalLM
    import modelopt.torch.speculative as mtsp
    from modelopt.torch.speculative.config import EAGLE3_DEFAULT_CFG
    from modelopt.torch.speculative.utils import temporary_set_config_value
    from safetensors.torch import load_file, save_file
    ver = vtuple(modelopt.__version__)
    timings["imports_s"] = round(time.time() - T0, 2)

    # ---- the base: a tiny seeded Llama -------------------------------------------------------------
    torch.manual_seed(args.seed)
    bcfg = LlamaConfig(vocab_size=VOCAB, hidden_size=H, intermediate_size=INTER, num_hidden_layers=LAYERS,
                       num_attention_heads=HEADS, num_key_value_heads=KV, max_position_embeddings=MAXPOS,
                       rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
                       pad_token_id=None)
    base = LlamaForCausalLM(bcfg).eval()
    g = torch.Generator().manual_seed(args.seed)
    randomize_(base, g, [])
    base.save_pretrained(out / "base")

    # ---- ModelOpt's conversion, with its EAGLE-3 preset -------------------------------------------
    V, Vd = VOCAB, args.draft_vocab or VOCAB
    small = {"intermediate_size": INTER, "head_dim": 16, "num_hidden_layers": args.layers}
    if args.aux_ids is not None:
        small["eagle_aux_hidden_state_layer_ids"] = list(args.aux_ids)
    if ver < (0, 41):
        # 0.39: examples/speculative_decoding/main.py: config = EAGLE3_DEFAULT_CFG["config"], then
        # eagle_architecture_config.update(custom) and .update(hidden_size, vocab_size, max_position_embeddings,
        # draft_vocab_size) from the base model.
        cfg = copy.deepcopy(EAGLE3_DEFAULT_CFG)["config"]
        cfg["eagle_architecture_config"].update(small)
        cfg["eagle_architecture_config"].update({"hidden_size": bcfg.hidden_size, "vocab_size": bcfg.vocab_size,
                                                 "max_position_embeddings": bcfg.max_position_embeddings,
                                                 "draft_vocab_size": Vd})
    else:
        # 0.47: modelopt_recipes/general/speculative_decoding/eagle3.yaml `eagle:` section (= EagleConfig
        # defaults) passed to mtsp.convert; the architecture dict is merged over eagle3_default_config by
        # convert_to_eagle_model, and hidden/vocab/max_pos are taken from the base in HFEagleModel.modify.
        # Only change from the recipe: eagle_use_torch_compile false (CPU, no compile).
        arch = dict(small)
        if Vd != V:
            arch["draft_vocab_size"] = Vd
        cfg = {"eagle_decoder_type": "llama", "eagle_ttt_steps": 3, "eagle_mix_hidden_states": False,
               "eagle_use_torch_compile": False, "eagle_self_logit_distillation": True,
               "eagle_freeze_base_model": True, "eagle_loss_decay_factor": 0.9,
               "eagle_hidden_state_distillation": False, "eagle_reuse_base_decoder": False,
               "eagle_report_acc": True, "eagle_enable_nvtx": False,
               "eagle_export_rope_scaling": {"rope_type": "yarn", "factor": 32.0,
                                             "original_max_position_embeddings": 2048},
               "eagle_architecture_config": arch}
    cfg_given = copy.deepcopy(cfg)
    t = time.time()
    model = base
    mtsp.convert(model, [("eagle", cfg)])
    model.eval()
    timings["convert_s"] = round(time.time() - t, 2)
    em = model.eagle_module
    aux_ids = sorted(int(i) for i in model.eagle_config.eagle_aux_hidden_state_layer_ids)

    # ---- seeded draft weights (and d2t) --------------------------------------------------------------
    randomized = []
    randomize_(em, g, randomized)
    d2t = None
    if Vd < V:  # ModelOpt fills d2t from a calibrated cache: d2t[i] = target_id(i) - i, by frequency (unsorted)
        targets = torch.randperm(V, generator=g)[:Vd]
        d2t = (targets - torch.arange(Vd)).to(torch.int64)
        with torch.no_grad():
            em.d2t.copy_(d2t)
    draft_params = {k: v.detach().clone() for k, v in em.state_dict().items()}

    # ---- ModelOpt's export -------------------------------------------------------------------------
    t = time.time()
    ddir = out / "draft"
    if ver < (0, 41):
        from modelopt.torch.export import export_hf_checkpoint  # 0.39: early exit for spec-only models
        with torch.inference_mode():
            export_hf_checkpoint(model, export_dir=ddir)
        exporter = "modelopt.torch.export.export_hf_checkpoint"
    else:
        from modelopt.torch.export import export_speculative_decoding  # 0.47: EagleExporter
        with torch.inference_mode():
            export_speculative_decoding(model, export_dir=ddir)
        exporter = "modelopt.torch.export.export_speculative_decoding"
    timings["export_s"] = round(time.time() - t, 2)
    exported = load_file(ddir / "model.safetensors")
    ecfg = json.loads((ddir / "config.json").read_text())

    # which draft params reached the export, and unchanged?
    exp_vals = {k: v for k, v in exported.items()}
    not_exported, exported_from = [], {}
    for k, v in draft_params.items():
        hit = [ek for ek, ev in exp_vals.items() if ev.shape == v.shape and ev.dtype == v.dtype and torch.equal(ev, v)]
        if hit:
            exported_from[k] = hit
        else:
            not_exported.append(k)

    # ---- reference: ModelOpt's own draft step --------------------------------------------------------
    t = time.time()
    gi = torch.Generator().manual_seed(args.seed + 7)
    input_ids = torch.randint(3, V, (B, T), generator=gi)
    with torch.no_grad():
        # the base forward as HFEagleModel runs it (super().forward = LlamaForCausalLM.forward, whose
        # self.model is the LlamaModel carrying ModelOpt's aux forward hooks)
        assert not model._aux_hidden_states
        bout = model.model(input_ids=input_ids, output_hidden_states=True)
        hf_hidden = torch.stack(bout.hidden_states)  # (LAYERS+1, B, T, H): HF output_hidden_states
        base_logits = model.lm_head(bout.last_hidden_state)
        if ver < (0, 41):
            aux = torch.cat(model.pop_aux_hidden_states(), dim=-1)
        else:
            aux = model.pop_and_gather_aux_hiddens()
        hf_idx = [i + 1 for i in aux_ids]
        aux_from_hf = torch.cat([hf_hidden[i] for i in hf_idx], dim=-1)
        aux_equals_hf = bool(torch.equal(aux, aux_from_hf))
        # the inputs as pseudo_speculative_generate builds them
        base_token = base_logits[:, -1:, :].argmax(dim=-1)
        draft_ids = torch.cat((input_ids[:, 1:], base_token), dim=-1)
        h_in = em.fc(aux)
        embeds = model.model.embed_tokens(draft_ids)
        if ver < (0, 41):
            _, mask, pos = model._get_eagle_module_inputs(input_ids, h_in, None, None, None)
            pe = model.eagle_rotary_emb(h_in, pos)
            with temporary_set_config_value(em.config, "_attn_implementation", "sdpa"):
                post_h, pre_h, logits, _ = model._eagle_forward(h_in, embeds, mask, pos, pe)
        else:
            em._maybe_init_rope(device=h_in.device)
            mask = model._prepare_decoder_attention_mask(None, (B, T), 0, h_in.device, h_in.dtype)
            with temporary_set_config_value(model.eagle_config, "_attn_implementation", "sdpa"):
                post_h, pre_h, logits, _ = model._eagle_forward(h_in, embeds, mask, None)

        # cross-check: ModelOpt's own inference path, pseudo_speculative_generate(steps=1), observed
        # through forward hooks on fc (its input = the aux states it consumes) and on the head it uses.
        head = getattr(em, "eagle_lm_head", None) or getattr(em, "lm_head", None) or model.lm_head
        seen = {"fc_in": [], "head_out": []}
        h1 = em.fc.register_forward_hook(lambda m, i, o: seen["fc_in"].append(i[0].detach().clone()))
        h2 = head.register_forward_hook(lambda m, i, o: seen["head_out"].append(o.detach().clone()))
        try:
            psg_base_token, psg_draft = model.pseudo_speculative_generate(input_ids, steps=1)
        finally:
            h1.remove(); h2.remove()
        psg_logits = seen["head_out"][-1]
        rot = model.eagle_rotary_emb if ver < (0, 41) else em.rotary_emb  # the RoPE ModelOpt's draft ran with
        rope_in_use = {"module": "HFEagleModel.eagle_rotary_emb" if ver < (0, 41) else "EagleModule.rotary_emb",
                       "rope_type": getattr(rot, "rope_type", None), "attention_scaling": float(rot.attention_scaling),
                       "config_rope": getattr(em.config, "rope_parameters", None) or getattr(em.config, "rope_scaling", None),
                       "config_rope_theta": getattr(em.config, "rope_theta", None)}
        expect_token = logits[:, -1:, :].argmax(dim=-1)
        if d2t is not None:
            expect_token = expect_token + d2t[expect_token]
        checks = {
            "aux_equals_hf_output_hidden_states[ids+1]": aux_equals_hf,
            "psg_fc_input_equals_aux": bool(torch.equal(seen["fc_in"][-1], aux)),
            "psg_logits_max_abs_diff_vs__eagle_forward": float((psg_logits - logits).abs().max()),
            "psg_base_token_equal": bool(torch.equal(psg_base_token, base_token)),
            "psg_draft_token_equals_argmax(_eagle_forward)[+d2t]": bool(torch.equal(psg_draft, expect_token)),
        }
    timings["reference_s"] = round(time.time() - t, 2)

    ref = {"input_ids": input_ids, "draft_input_ids": draft_ids, "aux_hidden_states": aux.contiguous(),
           "aux_layer_ids_modelopt": torch.tensor(aux_ids), "aux_hf_hidden_state_indices": torch.tensor(hf_idx),
           "hf_hidden_states": hf_hidden.contiguous(), "base_logits": base_logits.contiguous(),
           "draft_fc_out": h_in.contiguous(), "draft_prenorm_hidden": pre_h.contiguous(),
           "draft_postnorm_hidden": post_h.contiguous(), "logits": logits.contiguous(),
           "attention_mask_4d": mask.contiguous(), "draft_rope_inv_freq": rot.inv_freq.detach().float().contiguous(), "draft_token": psg_draft, "base_token": base_token}
    if d2t is not None:
        ref["d2t"] = d2t
    meta = {"modelopt": modelopt.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
            "draft_step_function": "HFEagleModel._eagle_forward", "attn_implementation": "sdpa",
            "aux_layer_ids_modelopt": json.dumps(aux_ids), "aux_hf_hidden_state_indices": json.dumps(hf_idx),
            "draft_rope_in_use": json.dumps(rope_in_use, default=str), "layers": str(args.layers), "draft_vocab": str(Vd), "seed": str(args.seed),
            "doc": "logits = ModelOpt HFEagleModel._eagle_forward(fc(aux_hidden_states), embed(draft_input_ids), "
                   "causal mask, positions 0..T-1); aux_hidden_states = cat(HF output_hidden_states[i+1] for i in "
                   "aux ids); draft_input_ids = cat(input_ids[:,1:], argmax base_logits[:,-1]) as in "
                   "pseudo_speculative_generate"}
    save_file(ref, out / "reference.safetensors", metadata=meta)

    report = {"versions": {k: meta[k] for k in ("modelopt", "transformers", "torch")},
              "python": sys.version.split()[0], "args": vars(args), "convert_config": cfg_given,
              "exporter": exporter, "timings": timings,
              "export_files": sorted(p.name for p in ddir.iterdir()),
              "exported_tensors": {k: [list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sorted(exported.items())},
              "draft_module_params": {k: list(v.shape) for k, v in draft_params.items()},
              "draft_params_not_exported": not_exported, "exported_from": exported_from,
              "config_num_hidden_layers": ecfg.get("num_hidden_layers"), "config_torch_dtype": ecfg.get("torch_dtype"),
              "config_rope_scaling": ecfg.get("rope_scaling"), "aux_ids": aux_ids, "hf_indices": hf_idx,
              "eagle_config_attn_implementation": getattr(em.config, "_attn_implementation", None),
              "draft_rope_in_use": rope_in_use, "checks": checks}
    timings["total_s"] = round(time.time() - T0, 2)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({"out": str(out), "modelopt": modelopt.__version__, "timings": timings, "checks": checks,
                      "not_exported": not_exported, "aux_ids": aux_ids}, indent=1))
    ok = (checks["aux_equals_hf_output_hidden_states[ids+1]"] and checks["psg_fc_input_equals_aux"]
          and checks["psg_logits_max_abs_diff_vs__eagle_forward"] == 0.0 and checks["psg_draft_token_equals_argmax(_eagle_forward)[+d2t]"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
