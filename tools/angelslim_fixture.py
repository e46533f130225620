#!/usr/bin/env python
"""Build a tiny AngelSlim EAGLE-3 draft with AngelSlim's own classes, save it the way AngelSlim's trainer saves it,
and record AngelSlim's own forward as a judge.

    VENV/bin/python -I angelslim_fixture.py OUT_DIR --variant {plain,rope_theta_1e6,aux_ids}

Run with the venv made by producer_env.sh angelslim (angelslim==0.3.0, transformers 4.57.6, CPU torch; why 0.3.0 and not
the newer 0.5.0: see producer_env.sh angelslim). Nothing of AngelSlim is stubbed or patched; observers only (forward hooks
on the draft's embed_tokens / fc / midlayer / lm_head).

AngelSlim's EAGLE-3 draft has no EAGLE 3.1 option (no norm_before_fc / fc_norm / norm_output / norm_before_residual,
in 0.3.0, 0.5.0 or the GitHub main branch), so the variants are about the two config keys that do matter:
  plain           draft config rope_theta 10000 (= the verifier's)
  rope_theta_1e6  draft config rope_theta 1e6, as AngelSlim's shipped Qwen3 draft configs carry the target's
                  rope_theta: AngelSlim's TRAINING forward ignores it (RoPE base 10000 always), its own HF
                  inference drafter uses it; "logits" is the trainer's, "logits_infer" the inference drafter's
  aux_ids         draft config "aux_hidden_states_layer_ids": [0, 2, 5] (the online trainer reads it from the draft
                  config and save_pretrained writes it into config.json)

What it writes under OUT_DIR:
  draft_config.json        the user-authored draft config (--draft_model_config_path of tools/train_eagle3_online.py)
  verifier/                a tiny Llama verifier (transformers LlamaForCausalLM, sharded with an index.json, plus a
                           tokenizer, because AngelSlim's TransformersBackend loads one)
  train/checkpoint-1/      what AngelSlim's online training run writes (transformers Trainer checkpoint through
                           Eagle3Trainer.save_model): config.json + model.safetensors (+ optimizer.pt, scheduler.pt,
                           rng_state.pth, trainer_state.json, training_args.bin); this IS AngelSlim's deliverable:
                           AngelSlim has no export step
  train/vocab_mapping_cache.pt   {"d2t", "t2d"} from Eagle3BaseDraftModel.build_vocab_mapping
  reference.safetensors    inputs and AngelSlim's own step-0 outputs (see REFERENCE_DOC below)
  fixture.json             what was built: variant, config keys, tensor names/dtypes/shapes, rope facts, timings
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

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

VARIANTS = {
    "plain": {},
    "rope_theta_1e6": {"rope_theta": 1000000.0},
    "aux_ids": {"aux_hidden_states_layer_ids": [0, 2, 5]},
}

H, HEADS, KV_HEADS, INTER, VOCAB, DRAFT_VOCAB, EPS = 64, 4, 2, 128, 256, 128, 1e-5
VERIFIER_LAYERS = 8
B, T = 2, 7
N_TRAIN = 64  # sequences in the training set (only the vocab mapping sees them all; one optimizer step is taken)
TTT_LENGTH = 7  # tools/train_eagle3_online.py --training_time_test_length default

REFERENCE_DOC = {
    "input_ids": "int64 (B,T): the token ids the draft embeds at step 0. AngelSlim's prepare_data_for_draft_model "
                 "shifts the verifier's sequence left by one and pads with 0 (utils.padding(left=False)): "
                 "input_ids[:, t] = verifier_input_ids[:, t+1], input_ids[:, -1] = 0",
    "verifier_input_ids": "int64 (B,T): the sequence the verifier ran on (the training batch's input_ids)",
    "aux_hidden_states": "float32 (B,T,3H): what AngelSlim's TransformersBackend.get_hidden_states_and_logits handed "
                         "the draft (the fc input, read by a hook), verifier run in float32: "
                         "cat(HF output_hidden_states[id + 1] for id in aux ids), not shifted",
    "aux_hidden_states_bf16": "bfloat16 (B,T,3H): the same with the verifier in bfloat16 (AngelSlim's default "
                              "--torch_dtype), the input of logits_bf16",
    "position_ids": "int64 (1,T): arange(T), made by Eagle3Trainer.prepare_attention_mask_and_position_ids",
    "attention_mask": "int64 (B,T): ones",
    "loss_mask": "int64 (B,T): ones (the dataset's mask; loss only, not the logits)",
    "fused_hidden_states": "float32 (B,T,H): draft fc output = combine_hidden_states(aux) (no norm anywhere before fc)",
    "draft_hidden_states": "float32 (B,T,H): step-0 midlayer output (pre final norm), the state TTT step 1 reuses",
    "logits": "float32 (B,T,draft_vocab): step-0 draft logits = compute_logits(draft_hidden_states) = "
              "lm_head(norm(h)), AngelSlim's training forward (Eagle3Trainer.compute_loss) in float32 on the saved "
              "(bf16) weights, the draft class (Eagle3LlamaForCausalLM) built in float32 so that its RoPE tables are "
              "float32",
    "logits_bf16": "bfloat16 (B,T,draft_vocab): the same forward with the draft and the verifier in bfloat16 "
                   "(AngelSlim's training dtype; built by create_draft_model, RoPE cos/sin tables bf16 too), on "
                   "aux_hidden_states_bf16",
    "logits_infer": "float32 (B,T,draft_vocab): step-0 logits of AngelSlim's HF inference drafter "
                    "(inference.models.eagle3.draft.llama3_eagle3.Llama3Eagle3Drafter, loaded as "
                    "Eagle3Model.from_pretrained loads it) on the same input_ids / aux_hidden_states",
    "loss_ttt": "float32 (): the value Eagle3Trainer.compute_loss returned for this batch (float32 run): "
                "sum_i 0.8**i * ploss_i over the 7 TTT steps",
}


def write_tokenizer(out: str):
    """A word-level tokenizer over VOCAB tokens (AngelSlim's TransformersBackend.load_model loads one)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"t{i}": i for i in range(3, VOCAB)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                            pad_token="<unk>").save_pretrained(out)


def write_verifier(out: str, seed: int):
    """A tiny Llama verifier saved by transformers, sharded so that an index.json exists (AngelSlim's inference
    drafter reads the embedding through model.safetensors.index.json)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=H, intermediate_size=INTER, num_hidden_layers=VERIFIER_LAYERS,
                      num_attention_heads=HEADS, num_key_value_heads=KV_HEADS, rms_norm_eps=EPS, rope_theta=10000.0,
                      max_position_embeddings=2048, tie_word_embeddings=False, initializer_range=0.1,
                      bos_token_id=1, eos_token_id=2)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg).eval()
    with torch.no_grad():  # non-trivial norms, all weights bf16-representable
        for name, p in model.named_parameters():
            g = torch.Generator().manual_seed(tensor_seed(seed + 7, name))
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            p.copy_(p.to(torch.bfloat16).float())
    model.save_pretrained(out, max_shard_size="200KB")
    write_tokenizer(out)
    return model


def draft_config_dict(variant: str):
    """In the shape of AngelSlim's shipped configs (angelslim/compressor/speculative/train/configs/*-eagle3.json)."""
    cfg = {
        "architectures": ["Eagle3LlamaForCausalLM"],
        "model_type": "llama",
        "target_model_type": "llama",
        "torch_dtype": "bfloat16",
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
        "num_attention_heads": HEADS,
        "num_hidden_layers": 1,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": EPS,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": VOCAB,
        "draft_vocab_size": DRAFT_VOCAB,
    }
    cfg.update(VARIANTS[variant])
    return cfg


def aux_layer_ids_default(num_layers: int):
    # AngelSlim's default, train/models/target/target_model_wrapper.py BaseBackend._get_default_aux_layer_ids
    return [1, num_layers // 2 - 1, num_layers - 4]


def collate(items):
    import torch

    return {k: torch.stack([it[k] for it in items]) for k in items[0]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="plain")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    timings = {}
    t_all = t0 = time.time()

    import torch
    import transformers
    from importlib.metadata import version
    from safetensors.torch import load_file, save_file

    from angelslim.compressor.speculative import (DraftModelConfig, Eagle3TrainerFactory, create_draft_model,
                                                  create_target_model)
    from angelslim.compressor.speculative.inference.models.eagle3.draft.llama3_eagle3 import Llama3Eagle3Drafter
    from angelslim.compressor.speculative.train.models.draft import Eagle3LlamaForCausalLM
    from angelslim.compressor.speculative.inference.models.eagle3.eagle3_model import ModelLoader

    timings["import_s"] = round(time.time() - t0, 2)
    assert not torch.cuda.is_available(), "expected the CPU torch"
    out = os.path.abspath(args.out_dir)
    if os.path.exists(out) and os.listdir(out):
        sys.exit(f"{out} exists and is not empty")
    os.makedirs(out, exist_ok=True)

    # 1. verifier (transformers) + a training set of token sequences
    t0 = time.time()
    verifier_dir = os.path.join(out, "verifier")
    write_verifier(verifier_dir, args.seed)
    g = torch.Generator().manual_seed(args.seed + 1)
    seqs = torch.randint(0, VOCAB, (N_TRAIN, T), generator=g) ** 2 // VOCAB  # skewed: low ids frequent
    seqs = seqs.clamp(min=3)
    dataset = [{"input_ids": s, "attention_mask": torch.ones(T, dtype=torch.long),
                "loss_mask": torch.ones(T, dtype=torch.long)} for s in seqs]
    batch = collate(dataset[:B])  # the reference batch
    timings["verifier_s"] = round(time.time() - t0, 2)

    # 2. the draft, built as tools/train_eagle3_online.py builds it
    t0 = time.time()
    cfg_path = os.path.join(out, "draft_config.json")
    with open(cfg_path, "w") as f:
        json.dump(draft_config_dict(args.variant), f, indent=2)
    draft_config = DraftModelConfig.from_file(cfg_path)
    target_bf16 = create_target_model(backend="hf", model_path=verifier_dir, modal_type="LLM",
                                      torch_dtype=torch.bfloat16, trust_remote_code=True,
                                      target_model_type=getattr(draft_config, "target_model_type", None))
    draft = create_draft_model(draft_config)  # bf16 (DraftModelFactory.from_config)
    draft.load_embed_weights(verifier_dir, "model.embed_tokens.weight")
    draft.freeze_embed_weights()
    randomize_draft(draft, args.seed)
    train_dir = os.path.join(out, "train")
    draft.build_vocab_mapping(dataset=dataset, cache_path=os.path.join(train_dir, "vocab_mapping_cache.pt"))
    initial = {k: v.clone() for k, v in draft.state_dict().items()}
    timings["build_s"] = round(time.time() - t0, 2)

    # 3. one optimizer step (learning rate 0: the weights stay the seeded ones) through AngelSlim's online trainer,
    #    saving checkpoint-1 the way its training runs save (save_strategy "steps")
    t0 = time.time()
    training_args = transformers.TrainingArguments(
        output_dir=train_dir, max_steps=1, per_device_train_batch_size=B, per_device_eval_batch_size=B,
        gradient_accumulation_steps=1, remove_unused_columns=False, learning_rate=0.0, weight_decay=0.0,
        optim="adamw_torch", lr_scheduler_type="constant", max_grad_norm=1.0, save_strategy="steps", save_steps=1,
        eval_strategy="no", logging_steps=1, report_to="none", use_cpu=True, seed=args.seed,
        dataloader_num_workers=0, disable_tqdm=True)
    trainer = Eagle3TrainerFactory.create(
        training_mode="online", modal_type="LLM", draft_model=draft, target_model=target_bf16, length=TTT_LENGTH,
        draft_model_config=draft_config, args=training_args, train_dataset=dataset, eval_dataset=None,
        data_collator=collate)
    trainer.train()
    ckpt_dir = os.path.join(train_dir, "checkpoint-1")
    saved = load_file(os.path.join(ckpt_dir, "model.safetensors"))
    assert sorted(saved) == sorted(initial), (sorted(saved), sorted(initial))
    for k, v in initial.items():
        assert torch.equal(saved[k], v), k
    timings["train_and_save_s"] = round(time.time() - t0, 2)

    # 4. AngelSlim's own training forward (Eagle3Trainer.compute_loss) on the reference batch, draft loaded from the
    #    checkpoint, hooks on its modules
    def run(dtype, target):
        config = DraftModelConfig.from_file(cfg_path)
        if dtype == torch.bfloat16:  # AngelSlim's own path: DraftModelFactory.from_config casts the draft to bf16
            model = create_draft_model(config)
        else:  # the same registered class built in float32, so its RoPE cos/sin tables stay float32 (the factory's
            #    bf16 cast rounds those non-persistent buffers too, and .float() cannot undo that)
            model = Eagle3LlamaForCausalLM(config).to(dtype)
        model.load_state_dict(load_file(os.path.join(ckpt_dir, "model.safetensors")), strict=True)
        model.freeze_embed_weights()
        ref_args = transformers.TrainingArguments(output_dir=os.path.join(out, "tmp_ref"), report_to="none",
                                                  use_cpu=True, remove_unused_columns=False, disable_tqdm=True)
        tr = Eagle3TrainerFactory.create(
            training_mode="online", modal_type="LLM", draft_model=model, target_model=target, length=TTT_LENGTH,
            draft_model_config=DraftModelConfig.from_file(cfg_path), args=ref_args)
        seen = {"fc_in": [], "fc": [], "midlayer": [], "lm_head": [], "embed_ids": []}
        def fc_hook(m, a, o):  # observer only: returns None, so the output is untouched
            seen["fc_in"].append(a[0].detach())
            seen["fc"].append(o.detach())

        hooks = [
            model.fc.register_forward_hook(fc_hook),
            model.midlayer.register_forward_hook(lambda m, a, o: seen["midlayer"].append(o[0][0].detach())),
            model.lm_head.register_forward_hook(lambda m, a, o: seen["lm_head"].append(o.detach())),
            model.embed_tokens.register_forward_hook(lambda m, a, o: seen["embed_ids"].append(a[0].detach())),
        ]
        with torch.no_grad():
            loss = tr.compute_loss(model, dict(batch))
        for h in hooks:
            h.remove()
        assert len(seen["lm_head"]) == TTT_LENGTH and len(seen["fc"]) == 1
        return model, seen, loss

    t0 = time.time()
    target_fp32 = create_target_model(backend="hf", model_path=verifier_dir, modal_type="LLM",
                                      torch_dtype=torch.float32, trust_remote_code=True)
    model32, seen32, loss32 = run(torch.float32, target_fp32)
    timings["forward_fp32_s"] = round(time.time() - t0, 2)
    t0 = time.time()
    _, seen16, _ = run(torch.bfloat16, target_bf16)
    timings["forward_bf16_s"] = round(time.time() - t0, 2)

    # the aux states the trainer took = HF output_hidden_states[id + 1] of the verifier
    layer_ids = getattr(draft_config, "aux_hidden_states_layer_ids", None) or aux_layer_ids_default(VERIFIER_LAYERS)
    with torch.no_grad():
        hs = target_fp32.model(input_ids=batch["input_ids"], output_hidden_states=True).hidden_states
    aux = seen32["fc_in"][0]
    assert torch.equal(aux, torch.cat([hs[i + 1] for i in layer_ids], dim=-1)), "aux != HF hidden_states[id+1]"
    draft_ids = seen32["embed_ids"][0]
    assert torch.equal(draft_ids[:, :-1], batch["input_ids"][:, 1:]) and (draft_ids[:, -1] == 0).all()

    # 5. AngelSlim's HF inference drafter on the same inputs (loaded as Eagle3Model.from_pretrained does it)
    t0 = time.time()
    from angelslim.compressor.speculative.inference.models.eagle3.configuration_eagle3_model import Eagle3Config

    icfg = Eagle3Config.from_pretrained(ModelLoader.ensure_config_path(ckpt_dir))
    drafter = Llama3Eagle3Drafter(icfg, path=verifier_dir, load_emb=True, total_tokens=60, depth=7, top_k=10)
    if icfg.vocab_size == icfg.draft_vocab_size:
        del drafter.d2t
        del drafter.t2d
    missing, unexpected = drafter.load_state_dict(ModelLoader.load_eagle_state_dict(ckpt_dir, "cpu"), strict=False)
    drafter = drafter.to(dtype=torch.float32).eval()
    infer_logits = []
    hk = drafter.lm_head.register_forward_hook(lambda m, a, o: infer_logits.append(o.detach()))
    with torch.no_grad():
        h_inf = drafter(hidden_states=aux, input_ids=draft_ids)[0]
        drafter._get_topk_tokens(h_inf)
    hk.remove()
    timings["forward_infer_s"] = round(time.time() - t0, 2)

    rope = {
        "config_rope_theta": getattr(draft_config, "rope_theta", None),
        "train_rotary_class": type(model32.midlayer.self_attn.rotary_emb).__name__,
        "train_rotary_base": getattr(model32.midlayer.self_attn.rotary_emb, "base", None),
        "infer_rotary_base": getattr(drafter.midlayer.self_attn.rotary_emb, "base", None),
    }
    reference = {
        "input_ids": draft_ids.contiguous(),
        "verifier_input_ids": batch["input_ids"],
        "aux_hidden_states": aux.float().contiguous(),
        "aux_hidden_states_bf16": seen16["fc_in"][0].contiguous(),
        "position_ids": torch.arange(T).unsqueeze(0),
        "attention_mask": batch["attention_mask"],
        "loss_mask": batch["loss_mask"],
        "fused_hidden_states": seen32["fc"][0].float().contiguous(),
        "draft_hidden_states": seen32["midlayer"][0].float().contiguous(),
        "logits": seen32["lm_head"][0].float().contiguous(),
        "logits_bf16": seen16["lm_head"][0].contiguous(),
        "logits_infer": infer_logits[0].float().contiguous(),
        "loss_ttt": loss32.float().reshape(()),
    }
    meta = {
        "variant": args.variant,
        "variant_config_keys": json.dumps(VARIANTS[args.variant]),
        "angelslim_version": version("angelslim"),
        "torch_version": torch.__version__,
        "transformers_version": version("transformers"),
        "aux_layer_ids": json.dumps(layer_ids),
        "aux_hf_hidden_states_indices": json.dumps([i + 1 for i in layer_ids]),
        "aux_layer_ids_meaning": "AngelSlim numbering: 0-based verifier decoder layer whose OUTPUT is taken; "
                                 "HF output_hidden_states index = id + 1 (target_model_wrapper "
                                 "_extract_auxiliary_hidden_states, embed_offset = 1)",
        "verifier_num_hidden_layers": str(VERIFIER_LAYERS),
        "rope": json.dumps(rope),
        "doc": json.dumps(REFERENCE_DOC),
    }
    save_file(reference, os.path.join(out, "reference.safetensors"), metadata=meta)
    import shutil

    shutil.rmtree(os.path.join(out, "tmp_ref"), ignore_errors=True)
    timings["total_s"] = round(time.time() - t_all, 2)

    d = (reference["logits"] - reference["logits_infer"]).abs().max().item()
    summary = {
        "variant": args.variant,
        "angelslim_version": meta["angelslim_version"],
        "transformers_version": meta["transformers_version"],
        "seed": args.seed,
        "aux_layer_ids": layer_ids,
        "aux_hf_hidden_states_indices": [i + 1 for i in layer_ids],
        "draft_config.json": json.load(open(cfg_path)),
        "checkpoint": dir_listing(ckpt_dir),
        "vocab_mapping_cache.pt": sorted(torch.load(os.path.join(train_dir, "vocab_mapping_cache.pt"))),
        "verifier_files": sorted(os.listdir(verifier_dir)),
        "rope": rope,
        "infer_load_state_dict": {"missing": list(missing), "unexpected": list(unexpected)},
        "reference": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "doc": REFERENCE_DOC[k]}
                      for k, v in reference.items()},
        "max_abs_logits_fp32_vs_bf16": float((reference["logits"] - reference["logits_bf16"].float()).abs().max()),
        "max_abs_logits_train_vs_infer": d,
        "timings": timings,
    }
    with open(os.path.join(out, "fixture.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"angelslim_fixture: {args.variant} -> {out} ({timings['total_s']} s; logits {tuple(reference['logits'].shape)}, "
          f"loss_ttt {float(reference['loss_ttt']):.4f}, max|train-infer| {d:.1e}, rope base train "
          f"{rope['train_rotary_base']} infer {rope['infer_rotary_base']})")


if __name__ == "__main__":
    main()
