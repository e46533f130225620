#!/usr/bin/env python3
"""Benchmark: what validation costs, against the plain conversion, on the shapes of Llama-3.1-8B and its EAGLE-3 draft.

Builds, with random bf16 weights (cost does not depend on their values), a whole Llama-3.1-8B-shaped verifier (hidden 4096,
intermediate 14336, 32 layers, 32 heads, 8 KV heads, vocabulary 128256: 16 GB in shards) and an EAGLE-3 draft in the EAGLE
repository's layout (one layer, a 32000-token draft vocabulary with its maps), then runs each measurement in a fresh process
and reports its wall time and peak RSS, and each as a ratio to the plain conversion, all measured in this one run:

- plain: `speculators convert DRAFT --verifier V --no-validate` (reads the verifier's config, writes the draft);
- validated: the same with the default validation (equivalence on the verifier's embedding and head; agreement is skipped by
  default for a verifier this size, and the output says how to run it);
- chain: the converted draft against the whole verifier, `speculators.chain.chain_acceptance` on P prompts continued by N tokens
  each (default 8 x 128), with the teacher-forced figures on the same continuation: the verifier loaded in its bf16.

Printed, not asserted; the machine's memory is printed beside it (the target: all of it within 24 GB).

    python bench/validate.py                # 8B shapes: writes ~17 GB under ./bench-validate (not run in CI), minutes
    python bench/validate.py --size small   # the same with each dimension 1/16: seconds, runs in CI
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path
# torch is imported only in the processes that build or measure: a child starts with its parent's peak RSS on Linux.

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"8b": dict(H=4096, I=14336, nh=32, nkv=8, V=128256, Vd=32000, layers=32),
         "small": dict(H=256, I=896, nh=8, nkv=2, V=8016, Vd=2000, layers=32)}

BUILD = r'''
import json, sys, torch
from pathlib import Path
from safetensors.torch import save_file
work, s = Path(sys.argv[1]), json.loads(sys.argv[2])
H, I, nh, nkv, V, Vd, L = (s[k] for k in ("H", "I", "nh", "nkv", "V", "Vd", "layers"))
hd = H // nh
g = torch.Generator().manual_seed(0)
def w(*shape): return (torch.randn(*shape, generator=g) * 0.02).to(torch.bfloat16)
def ones(n): return torch.ones(n, dtype=torch.bfloat16)
def layer(p, width=H, norms=("input_layernorm", "post_attention_layernorm")):
    d = {f"{p}.self_attn.q_proj.weight": w(nh * hd, width), f"{p}.self_attn.k_proj.weight": w(nkv * hd, width),
         f"{p}.self_attn.v_proj.weight": w(nkv * hd, width), f"{p}.self_attn.o_proj.weight": w(H, nh * hd),
         f"{p}.mlp.gate_proj.weight": w(I, H), f"{p}.mlp.up_proj.weight": w(I, H), f"{p}.mlp.down_proj.weight": w(H, I)}
    return {**d, **{f"{p}.{n}.weight": ones(H) for n in norms}}
cfg = dict(hidden_size=H, intermediate_size=I, num_attention_heads=nh, num_key_value_heads=nkv, vocab_size=V, rms_norm_eps=1e-5,
           max_position_embeddings=131072, rope_theta=500000.0, hidden_act="silu", head_dim=hd)
v = work/"verifier"; v.mkdir(parents=True, exist_ok=True)
def parts():  # one shard each, made when it is written: the builder never holds the whole verifier
    yield {"model.embed_tokens.weight": w(V, H)}
    for i in range(L): yield layer(f"model.layers.{i}")
    yield {"model.norm.weight": ones(H), "lm_head.weight": w(V, H)}
index, total = {}, 0
for i, sd in enumerate(parts()):
    name = f"model-{i + 1:05d}-of-{L + 2:05d}.safetensors"
    save_file(sd, v/name, metadata={"format": "pt"})
    index.update({k: name for k in sd}); total += sum(t.numel() * 2 for t in sd.values())
(v/"model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": index}))
(v/"config.json").write_text(json.dumps({**cfg, "architectures": ["LlamaForCausalLM"], "model_type": "llama", "num_hidden_layers": L,
                                         "tie_word_embeddings": False, "torch_dtype": "bfloat16", "bos_token_id": 0, "eos_token_id": 1}))
e3 = {"fc.weight": w(H, 3 * H), **layer("midlayer", 2 * H, ("input_layernorm", "hidden_norm", "post_attention_layernorm")),
      "norm.weight": ones(H), "lm_head.weight": w(Vd, H)}
targets = torch.randperm(V, generator=g)[:Vd].sort().values
e3["d2t"] = targets - torch.arange(Vd); t2d = torch.zeros(V, dtype=torch.bool); t2d[targets] = True; e3["t2d"] = t2d
d = work/"eagle3"; d.mkdir(exist_ok=True)
save_file(e3, d/"model.safetensors", metadata={"format": "pt"})
(d/"config.json").write_text(json.dumps({**cfg, "num_hidden_layers": 1, "architectures": ["LlamaForCausalLM"], "draft_vocab_size": Vd}))
print(f"verifier {total / 1e9:.1f} GB, draft {sum(t.numel() * t.element_size() for t in e3.values()) / 1e9:.2f} GB")
'''

CHAIN = r'''
import json, sys, time, torch
from speculators.models.eagle3 import Eagle3Speculator
from pathlib import Path
from speculators.validate import load_verifier, agreement_seconds
from speculators.chain import chain_acceptance
out, ver_dir, P, N = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
size = lambda d: sum(f.stat().st_size for f in Path(d).glob("*.safetensors"))
estimate = agreement_seconds(size(ver_dir), size(out), prompts=P, tokens=16, new_tokens=N)  # what a skipped measurement says it would take
t0 = time.perf_counter()
ver = load_verifier(ver_dir)
draft = Eagle3Speculator.from_pretrained(out, verifier=False).attach_verifier(ver)
t1 = time.perf_counter()
ids = torch.randint(2, ver.config.vocab_size, (P, 16), generator=torch.Generator().manual_seed(0))
r = chain_acceptance(draft, ver, ids, new_tokens=N)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "chain_s": t2 - t1, "estimate_s": estimate, "dtype": str(next(ver.parameters()).dtype),
                  "tau_chain": {k: v["tokens_per_verifier_call"] for k, v in r["chain"].items()},
                  "tau_teacher_forced": {k: v["tokens_per_verifier_call"] for k, v in r["teacher_forced"].items()}}))
'''

def measured(cmd, cwd=None):
    "Wall seconds, peak RSS (bytes, the process's own, read with wait4), stdout and stderr of a command in a fresh process."
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as ef:  # stderr to a file: a child filling one pipe while we read the other would hang
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=ef, text=True, cwd=cwd)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
        ef.seek(0); err = ef.read()
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status): raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err[-3000:]}")
    return wall, ru.ru_maxrss * 1024, out, err

def gb(n): return f"{n / 1e9:.2f} GB"

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="8b")
    ap.add_argument("--dir", default="bench-validate", help="working directory (deleted at the end unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (and reuse its checkpoints next time)")
    ap.add_argument("--prompts", type=int, default=8, help="prompts for chain acceptance")
    ap.add_argument("--new-tokens", type=int, default=128, help="tokens each prompt is continued by")
    a = ap.parse_args()
    work = Path(a.dir).resolve(); work.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("speculators") or sys.exit("the speculators console script is not installed: pip install -e .")
    if not (work/"verifier"/"config.json").exists() or not (work/"eagle3"/"config.json").exists():
        t, _, out, _ = measured([sys.executable, "-c", BUILD, str(work), json.dumps(SIZES[a.size])])
        print(f"built in {t:.0f} s: {out.strip()}")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    rows = []
    for name, extra in (("plain", ["--no-validate"]), ("validated", [])):
        out = work/f"out-{name}"
        shutil.rmtree(out, ignore_errors=True)
        t, rss, _, err = measured([exe, "convert", work/"eagle3", "--algorithm", "eagle3", "--verifier", work/"verifier",
                                   "--output-path", out, *extra])
        rows.append((name, t, rss, next((l.strip() for l in err.splitlines() if "agreement" in l), "")))
    t, rss, out, _ = measured([sys.executable, "-c", CHAIN, str(work/"out-validated"), str(work/"verifier"), str(a.prompts), str(a.new_tokens)])
    r = json.loads(out.strip().splitlines()[-1])
    rows.append((f"chain {a.prompts}x{a.new_tokens}", t, rss, f"load {r['load_s']:.0f} s, chains {r['chain_s']:.0f} s (estimated {r['estimate_s']:.0f} s), verifier in {r['dtype']}"))
    t0, r0 = rows[0][1], rows[0][2]
    print(f"\nsize {a.size}; machine memory {gb(mem)}; {os.cpu_count()} CPUs")
    print(f"{'run':22} {'wall s':>8} {'x plain':>8} {'peak RSS':>10} {'x plain':>8}  notes")
    for name, t, rss, note in rows:
        print(f"{name:22} {t:8.1f} {t / t0:8.1f} {gb(rss):>10} {rss / r0:8.1f}  {note}")
    print("τ (tokens per verifier call), random weights, so only their cost means anything: chain",
          {k: round(v, 2) for k, v in r["tau_chain"].items()}, "teacher-forced", {k: round(v, 2) for k, v in r["tau_teacher_forced"].items()})
    fits = max(rss for _, _, rss, _ in rows)
    print(f"largest peak RSS {gb(fits)}: {'within' if fits <= 24e9 else 'OVER'} 24 GB")
    if not a.keep: shutil.rmtree(work)

if __name__ == "__main__":
    main()
