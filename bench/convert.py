#!/usr/bin/env python3
"""Benchmark: our conversion against a plain copy of the same bytes (and the reference `speculators` package where it installs).

Builds synthetic bf16 checkpoints with the real shapes of Llama-3.1-8B drafts (EAGLE: hidden 4096, intermediate 14336,
32 heads, 8 KV heads, vocab 128256, with its frozen embedding; EAGLE-3: the same with a 32000-token draft vocabulary and
maps), as one file and as shards, and reports side by side, in one run: wall time and peak RSS of our conversion
(`speculators convert ... --no-validate --quiet`, a fresh process), of a plain copy of the checkpoint directory (`cp -r`),
of a bare `import speculators.cli` (torch + transformers start-up), and of the reference package when it can be installed
in a separate virtual environment (`--reference`), with the ratios.

    python bench/convert.py                 # real 8B shapes: writes ~8 GB under ./bench-work (not run in CI)
    python bench/convert.py --size small    # same layouts with each dimension 1/16: seconds, runs in CI
"""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path
import torch
from safetensors.torch import save_file

SIZES = {"8b": dict(H=4096, I=14336, nh=32, nkv=8, V=128256, Vd=32000, layers=32),
         "small": dict(H=256, I=896, nh=8, nkv=2, V=8016, Vd=2000, layers=32)}

def bf16(*shape): return torch.empty(*shape, dtype=torch.bfloat16).normal_(0, 0.02)

def layer(prefix, H, I, nh, nkv, width):
    d = H // nh
    t = {f"{prefix}.self_attn.q_proj.weight": bf16(nh * d, width), f"{prefix}.self_attn.k_proj.weight": bf16(nkv * d, width),
         f"{prefix}.self_attn.v_proj.weight": bf16(nkv * d, width), f"{prefix}.self_attn.o_proj.weight": bf16(H, nh * d),
         f"{prefix}.mlp.gate_proj.weight": bf16(I, H), f"{prefix}.mlp.up_proj.weight": bf16(I, H), f"{prefix}.mlp.down_proj.weight": bf16(H, I),
         f"{prefix}.post_attention_layernorm.weight": torch.ones(H, dtype=torch.bfloat16)}
    return t

def save(sd, path, sharded):
    path.mkdir(parents=True, exist_ok=True)
    if not sharded: save_file(sd, path/"model.safetensors", metadata={"format": "pt"}); return
    from huggingface_hub import save_torch_state_dict
    total = sum(t.numel() * 2 for t in sd.values())
    save_torch_state_dict(sd, path, max_shard_size=max(total // 3, 1))

def build(work:Path, s:dict):
    "Verifier config (+ its embedding, which the EAGLE layout compares with the draft's copy), EAGLE and EAGLE-3 drafts."
    H, I, nh, nkv, V, Vd = s["H"], s["I"], s["nh"], s["nkv"], s["V"], s["Vd"]
    cfg = dict(hidden_size=H, intermediate_size=I, num_attention_heads=nh, num_key_value_heads=nkv, vocab_size=V, rms_norm_eps=1e-5,
               max_position_embeddings=131072, rope_theta=500000.0, hidden_act="silu")
    embed = bf16(V, H)
    v = work/"verifier"; v.mkdir(parents=True, exist_ok=True)
    save_file({"model.embed_tokens.weight": embed}, v/"model.safetensors", metadata={"format": "pt"})
    (v/"config.json").write_text(json.dumps({**cfg, "architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                             "num_hidden_layers": s["layers"], "tie_word_embeddings": False}))
    e1 = {"embed_tokens.weight": embed, "fc.weight": bf16(H, 2 * H), **layer("layers.0", H, I, nh, nkv, H)}
    e3 = {"fc.weight": bf16(H, 3 * H), **layer("midlayer", H, I, nh, nkv, 2 * H), "norm.weight": torch.ones(H, dtype=torch.bfloat16),
          "midlayer.input_layernorm.weight": torch.ones(H, dtype=torch.bfloat16), "midlayer.hidden_norm.weight": torch.ones(H, dtype=torch.bfloat16),
          "lm_head.weight": bf16(Vd, H)}
    targets = torch.randperm(V)[:Vd].sort().values
    e3["d2t"] = targets - torch.arange(Vd); t2d = torch.zeros(V, dtype=torch.bool); t2d[targets] = True; e3["t2d"] = t2d
    cases = []
    for algo, sd, extra in (("eagle", e1, {"bias": False}), ("eagle3", e3, {"draft_vocab_size": Vd})):
        for sharded in (False, True):
            p = work/f"{algo}-{'sharded' if sharded else 'single'}"
            save(sd, p, sharded)
            (p/"config.json").write_text(json.dumps({**cfg, "num_hidden_layers": 1, "architectures": ["LlamaForCausalLM"], **extra}))
            cases.append((algo, p, max(t.numel() * t.element_size() for t in sd.values())))
    return v, cases

def run(cmd, env=None):
    "Wall seconds and peak RSS (bytes) of a command in a fresh process."
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode()
    if os.waitstatus_to_exitcode(status): raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err[-2000:]}")
    return wall, ru.ru_maxrss * 1024

def reference_env(work:Path):
    "A virtual environment with the reference `speculators` 0.6.0 (no deps; system torch), or None with the reason."
    venv = work/"ref-venv"
    exe = venv/"bin"/"speculators"
    if not exe.exists():
        r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], capture_output=True, text=True)
        pip = [str(venv/"bin"/"python"), "-m", "pip", "install", "-q", "--no-deps"]
        r = r.returncode or subprocess.run(pip + ["speculators==0.6.0", "loguru==0.7.3", "pydantic-settings", "typer"], capture_output=True).returncode
        if r or not exe.exists(): return None, "pip could not install speculators==0.6.0 into a separate venv"
    r = subprocess.run([str(exe), "--help"], capture_output=True, text=True)
    if r.returncode: return None, f"reference speculators 0.6.0 does not start beside torch {torch.__version__}: {r.stderr.strip().splitlines()[-1:]}"
    return exe, ""

def mb(n): return f"{n / 1e6:,.0f} MB"

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="8b")
    ap.add_argument("--dir", default="bench-work", help="working directory (deleted at the end unless --keep)")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--reference", action="store_true", help="also time the reference package (installed into a separate venv)")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    work = Path(a.dir).absolute()
    if a.build_only:  # in its own process, so that the measured processes do not inherit its memory through fork
        verifier, cases = build(work, SIZES[a.size])
        (work/"cases.json").write_text(json.dumps([(algo, str(p), n) for algo, p, n in cases])); return
    shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True)
    print(f"building {a.size} checkpoints in {work} ...", flush=True)
    subprocess.run([sys.executable, __file__, "--build-only", "--size", a.size, "--dir", str(work)], check=True)
    verifier, cases = work/"verifier", [(algo, Path(p), n) for algo, p, n in json.loads((work/"cases.json").read_text())]
    spec = shutil.which("speculators") or sys.exit("install the package first: pip install -e .")
    imp_t, imp_rss = run([sys.executable, "-c", "import speculators.cli"])
    print(f"start-up (python -c 'import speculators.cli'): {imp_t:.2f} s, peak RSS {mb(imp_rss)}")
    ref, why = reference_env(work) if a.reference else (None, "not requested (--reference)")
    if not ref: print(f"reference: skipped: {why}")
    print(f"\n{'case':16} {'bytes':>9} {'copy s':>7} {'ours s':>7} {'ratio':>6} {'ours-start':>10} {'ratio':>6} "
          f"{'ours RSS':>9} {'largest':>9} {'RSS-largest':>11}" + ("  ref s  ref RSS" if ref else ""))
    for algo, src, largest in cases:
        size = sum(f.stat().st_size for f in src.iterdir() if f.name != "config.json")
        run(["cp", "-r", str(src), str(work/"warm")]); shutil.rmtree(work/"warm")  # same page-cache state for both
        cp_t, _ = run(["cp", "-r", str(src), str(work/"copy")]); shutil.rmtree(work/"copy")
        t, rss = run([spec, "convert", str(src), "--algorithm", algo, "--verifier", str(verifier), "--output-path", str(work/"out"),
                      "--no-validate", "--quiet"])
        shutil.rmtree(work/"out")
        line = (f"{src.name:16} {mb(size):>9} {cp_t:7.2f} {t:7.2f} {t / cp_t:6.2f} {t - imp_t:10.2f} {(t - imp_t) / cp_t:6.2f} "
                f"{mb(rss):>9} {mb(largest):>9} {mb(rss - largest):>11}")
        if ref:
            try:
                rt, rr = run([str(ref), "convert", algo, str(src), str(work/"ref-out"), str(verifier), "--no-validate"])
                line += f"  {rt:5.2f}  {mb(rr)}"
            except SystemExit as e: line += f"  reference failed: {str(e).splitlines()[-1][:60]}"
            shutil.rmtree(work/"ref-out", ignore_errors=True)
        print(line, flush=True)
    print("\nratio: ours / plain copy of the same files (ours-start: minus the bare start-up); RSS-largest: peak RSS above the largest tensor")
    if not a.keep: shutil.rmtree(work)

if __name__ == "__main__": main()
