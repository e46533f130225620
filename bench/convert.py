#!/usr/bin/env python3
"""Benchmark: our conversion against a plain copy of the same bytes (and the reference `speculators` package where it installs).

Builds synthetic bf16 checkpoints with the real shapes of Llama-3.1-8B drafts (EAGLE: hidden 4096, intermediate 14336,
32 heads, 8 KV heads, vocab 128256, with its frozen embedding; EAGLE-3: the same with a 32000-token draft vocabulary and
maps), as one file and as shards, and reports side by side, in one run, for each case:

- copy: wall time of `cp -r` of the checkpoint directory (the physical limit of bytes in, bytes out);
- ours: wall time of `speculators convert ... --no-validate --quiet` in a fresh process (total), and net: the time of `main()`
  measured inside that process, i.e. without the interpreter's start-up, `import speculators.cli` (torch, the registry) and exit;
- start-up: the same process with `--version` instead of `convert ...`, measured separately as a cross-check of total - net;
- sha256 and digest: one thread hashing the source weights files with SHA-256, and with XXH3-128 as a conversion does for its provenance;
- peak RSS of the conversion process, the largest tensor of the source, and their difference;
- the reference package when it can be installed in a separate virtual environment (`--reference`).

The copy and our conversion run in turns (copy, ours, copy, ours, ...; `--repeat` pairs, each run after the same pause), on a warm
page cache; times are medians, and net/copy is the median of each pair's ratio. The targets (issue D) are checked and printed:
net conversion time at most 1.3x the copy, and peak RSS at most the largest tensor plus 300 MB.

    python bench/convert.py                 # real 8B shapes: writes ~8 GB under ./bench-work (not run in CI)
    python bench/convert.py --size small    # same layouts with each dimension 1/16: seconds, runs in CI
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time
from pathlib import Path
# torch and safetensors are imported only where checkpoints are built, in a process of its own: on Linux a child process starts with
# its parent's peak RSS, so the process that launches the measured ones must stay small.

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"8b": dict(H=4096, I=14336, nh=32, nkv=8, V=128256, Vd=32000, layers=32),
         "small": dict(H=256, I=896, nh=8, nkv=2, V=8016, Vd=2000, layers=32)}
TIME_TARGET, RSS_TARGET = 1.3, 300e6  # net conversion / copy; peak RSS - largest tensor (bytes)

def bf16(*shape):
    import torch
    return torch.empty(*shape, dtype=torch.bfloat16).normal_(0, 0.02)

def layer(prefix, H, I, nh, nkv, width, norms=("post_attention_layernorm",)):
    "One decoder layer's tensors under `prefix`, with the shapes the package itself knows (`speculators.format.layer_shapes`)."
    import torch
    from speculators.format import layer_shapes
    shapes = layer_shapes(prefix, H, I, nh, nkv, H // nh, in_width=width, norms=norms)
    return {k: bf16(*s) if len(s) == 2 else torch.ones(*s, dtype=torch.bfloat16) for k, s in shapes.items()}

def save(sd, path, sharded):
    from safetensors.torch import save_file
    path.mkdir(parents=True, exist_ok=True)
    if not sharded: save_file(sd, path/"model.safetensors", metadata={"format": "pt"}); return
    from huggingface_hub import save_torch_state_dict
    total = sum(t.numel() * 2 for t in sd.values())
    save_torch_state_dict(sd, path, max_shard_size=max(total // 3, 1))

def build(work:Path, s:dict):
    "Verifier config (+ its embedding, which the EAGLE layout compares with the draft's copy), EAGLE and EAGLE-3 drafts."
    import torch
    from safetensors.torch import save_file
    H, I, nh, nkv, V, Vd = s["H"], s["I"], s["nh"], s["nkv"], s["V"], s["Vd"]
    cfg = dict(hidden_size=H, intermediate_size=I, num_attention_heads=nh, num_key_value_heads=nkv, vocab_size=V, rms_norm_eps=1e-5,
               max_position_embeddings=131072, rope_theta=500000.0, hidden_act="silu")
    embed = bf16(V, H)
    v = work/"verifier"; v.mkdir(parents=True, exist_ok=True)
    save_file({"model.embed_tokens.weight": embed}, v/"model.safetensors", metadata={"format": "pt"})
    (v/"config.json").write_text(json.dumps({**cfg, "architectures": ["LlamaForCausalLM"], "model_type": "llama",
                                             "num_hidden_layers": s["layers"], "tie_word_embeddings": False}))
    e1 = {"embed_tokens.weight": embed, "fc.weight": bf16(H, 2 * H), **layer("layers.0", H, I, nh, nkv, H)}
    e3 = {"fc.weight": bf16(H, 3 * H), **layer("midlayer", H, I, nh, nkv, 2 * H, ("input_layernorm", "hidden_norm", "post_attention_layernorm")),
          "norm.weight": torch.ones(H, dtype=torch.bfloat16), "lm_head.weight": bf16(Vd, H)}
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

def run(cmd, env=None, cwd=None):
    "Wall seconds, peak RSS (bytes) and stderr of a command in a fresh process (in `cwd`, default: the code timed)."
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd or ENV["PYTHONPATH"].split(os.pathsep)[0])
    err = p.stderr.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status): raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{err[-2000:]}")
    return wall, ru.ru_maxrss * 1024, err

def inner_seconds(err:str)->list:
    "What a timed process measured itself and printed (`bench-main-seconds=`): `main()` alone."
    return [float(l.split("=")[1]) for l in err.splitlines() if l.startswith("bench-main-seconds=")]

def median_run(cmd, n, env=None, cwd=None):
    "Median wall time, the largest peak RSS, and the median of what the process measured itself (`main` seconds, or None) of `n` runs."
    ts, rss, inner = [], 0, []
    for _ in range(n):
        settle()
        t, r, err = run(cmd, env or ENV, cwd)
        ts.append(t); rss = max(rss, r); inner += inner_seconds(err)
    return statistics.median(ts), rss, statistics.median(inner) if inner else None

def paired_runs(copy_cmd, copy_out:Path, ours_cmd, ours_out:Path, n:int):
    """`n` pairs of runs, the copy then ours, each after `settle`, each output deleted after its run (but for our last): whatever drifts on
    the machine over minutes affects both alike. Returns the copy times, our wall and net times (`main()` measured in the process), in run
    order, and our largest peak RSS."""
    cp, wall, net, rss = [], [], [], 0
    for i in range(n):
        settle(); cp.append(run(copy_cmd)[0]); clear(copy_out)
        settle(); t, r, err = run(ours_cmd, ENV)
        wall.append(t); rss = max(rss, r); net += inner_seconds(err)
        if i < n - 1: clear(ours_out)
    return cp, wall, net, rss

# Our conversion runs this repository's code (whatever is installed; `--code` for another checkout), through the console script's entry point,
# and reports how long `main()` itself took: the conversion net of the interpreter's start-up, `import speculators.cli` and exit.
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # the first entry is also the working directory of the timed processes
OURS = [sys.executable, "-c", "import sys, time; from speculators.cli import main; t = time.perf_counter(); main(sys.argv[1:]); "
                              "print(f'bench-main-seconds={time.perf_counter() - t}', file=sys.stderr)"]

REFERENCE = ["speculators==0.6.0"]
# what it imports, at versions it works with beside this machine's torch (it pins torch<=2.12, whose Linux wheel on PyPI is the CUDA build)
# (with transformers 5.x its EAGLE conversion fails: pydantic cannot build its EagleSpeculatorConfig)
REFERENCE_DEPS = ["openai>=2", "loguru==0.7.3", "pydantic>=2.10,<2.12", "pydantic-settings>=2", "typer>=0.12,<0.16",
                  "transformers>=4.56.1,<5", "tqdm>=4.66.3,<=4.68.2", "datasets>=4.0,<=5.0.0", "rich", "psutil"]

REF_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the reference runs outside this repository: its own `speculators`

def reference_env(work:Path):
    "A virtual environment with the reference `speculators` 0.6.0 (the system's torch, its other dependencies pinned), or None with the reason."
    venv = work/"ref-venv"
    exe = venv/"bin"/"speculators"
    if not exe.exists():
        r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], capture_output=True, text=True)
        pip = [str(venv/"bin"/"python"), "-m", "pip", "install", "-q"]
        r = r.returncode or subprocess.run(pip + ["--no-deps"] + REFERENCE, capture_output=True).returncode
        r = r or subprocess.run(pip + REFERENCE_DEPS, capture_output=True).returncode
        if r or not exe.exists(): return None, "pip could not install speculators==0.6.0 and its dependencies into a separate venv"
    r = subprocess.run([str(exe), "convert", "--help"], capture_output=True, text=True, env=REF_ENV, cwd=work)
    if r.returncode: return None, f"reference speculators 0.6.0 does not start beside this torch: {r.stderr.strip().splitlines()[-1:]}"
    return exe, ""

def mb(n): return f"{n / 1e6:,.0f} MB"

SETTLE = 3.0  # seconds to wait before each timed run (see `settle`)

def settle():
    """Write back what earlier runs left dirty, then wait `SETTLE` seconds (untimed), so that no run pays for another's: writing while
    gigabytes are written back is 2-3x slower here, and on a filesystem mounted with `discard` (like this machine's) a file deleted just
    before a run makes the run pay for discarding its blocks. The wait is longer than the 2 s after which a virtual machine whose balloon
    device reports free pages to the host (virtio-balloon free page reporting, as on this one: bit 5 of /sys/bus/virtio/devices/*/features)
    hands the memory freed by the last deletion back: with a wait of 1 s the copy of the same 850 MB took 0.33 s or 1.0 s at random, with 3-4 s
    the two clusters remain but rarer. Copy and ours run in turns so that what remains affects both alike. Deleting each output also keeps
    the page cache from filling up, which makes every later run reclaim pages as it writes (up to 5x slower here)."""
    os.sync(); time.sleep(SETTLE)

def clear(path:Path):
    for p in Path(path).parent.glob(Path(path).name): shutil.rmtree(p)

HASH = """import hashlib, mmap, sys, time
from pathlib import Path
from speculators.write import file_digest
t0 = time.perf_counter()
for f in sorted(Path(sys.argv[1]).iterdir()):
    if f.name == "config.json" or not f.stat().st_size: continue
    if sys.argv[2] == "sha256":
        with open(f, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m: hashlib.sha256(m).hexdigest()
    else: file_digest(f)
print(f"bench-main-seconds={time.perf_counter() - t0}", file=sys.stderr)
"""

def hash_time(src:Path, n:int, how:str)->float:
    "Median seconds for one thread to hash the weights files of `src`: with SHA-256, or as a conversion does for its provenance ('ours')."
    return median_run([sys.executable, "-c", HASH, str(src), how], n)[2]  # in a process of its own: a child inherits its parent's peak RSS

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", choices=list(SIZES), default="8b")
    ap.add_argument("--dir", default="bench-work", help="working directory (deleted at the end unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory (and reuse its checkpoints next time)")
    ap.add_argument("--repeat", type=int, default=None, help="runs per measurement, median reported (default: 5 for 8b, 1 for small)")
    ap.add_argument("--cases", default=None, help="comma-separated subset, e.g. eagle-single,eagle3-sharded")
    ap.add_argument("--reference", action="store_true", help="also time the reference package (installed into a separate venv)")
    ap.add_argument("--code", default=str(ROOT), help="directory holding the `speculators` package to time (default: this repository),"
                    " e.g. an export of another commit: git archive COMMIT speculators | tar -x -C DIR")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    work, n = Path(a.dir).absolute(), a.repeat or (5 if a.size == "8b" else 1)
    ENV["PYTHONPATH"] = os.pathsep.join([str(Path(a.code).absolute()), *filter(None, [os.environ.get("PYTHONPATH")])])
    if a.build_only:  # in its own process, so that the measured processes do not inherit its peak RSS
        verifier, cases = build(work, SIZES[a.size])
        (work/"cases.json").write_text(json.dumps({"size": a.size, "cases": [(algo, str(p), n) for algo, p, n in cases]})); return
    old = json.loads((work/"cases.json").read_text()) if a.keep and (work/"cases.json").exists() else None
    reuse = isinstance(old, dict) and old.get("size") == a.size
    if not reuse:
        shutil.rmtree(work, ignore_errors=True); work.mkdir(parents=True)
        print(f"building {a.size} checkpoints in {work} ...", flush=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--size", a.size, "--dir", str(work)], check=True)
    else: print(f"reusing the {a.size} checkpoints in {work}", flush=True)
    verifier, cases = work/"verifier", [(algo, Path(p), n) for algo, p, n in json.loads((work/"cases.json").read_text())["cases"]]
    if a.cases: cases = [c for c in cases if c[1].name in a.cases.split(",")]
    for d in ("out", "copy", "ref-out"): clear(work/d)

    run(OURS + ["--version"], ENV)  # warm-up: the first start-up after a while pays for cold caches
    start_t, start_rss, _ = median_run(OURS + ["--version"], max(n, 5))
    print(f"code timed: {Path(a.code).absolute()/'speculators'}")
    print(f"start-up: {start_t:.2f} s, peak RSS {mb(start_rss)}: a process that starts the interpreter, imports speculators.cli (torch, the"
          " registry), runs `speculators --version` and exits, i.e. everything a conversion process pays besides converting")
    ref, why = reference_env(work) if a.reference else (None, "not requested (--reference)")
    if not ref: print(f"reference: skipped: {why}")
    else:  # its start-up, measured as ours is: a process that imports what a conversion imports and exits
        ref_start = median_run([str(ref.parent/"python"), "-c", "import speculators.__main__"], max(n, 3), env=REF_ENV, cwd=work)[0]
        print(f"reference start-up: {ref_start:.2f} s (`import speculators.__main__` in its venv)")
    print(f"times: median of {n} run(s) each (start-up: of {max(n, 5)}), page cache warm; copy and ours in turns, each run {SETTLE:.0f} s after"
          " the last one's output was deleted\n")
    head = (f"{'case':15} {'source':>9} {'written':>9} {'copy s':>7} {'sha256 s':>8} {'digest s':>8} {'ours s':>7} {'start s':>7} {'net s':>6} {'net/copy':>8} "
            f"{'peak RSS':>9} {'largest':>9} {'RSS-largest':>11}" + ("  ref s  ref-start s  ref-net/copy   ref RSS" if ref else ""))
    print(head); print("-" * len(head))
    results = []
    for algo, src, largest in cases:
        size = sum(f.stat().st_size for f in src.iterdir() if f.name != "config.json")
        run(["cp", "-r", str(src), str(work/"copy")]); clear(work/"copy")  # the same page-cache state for both
        sha_t, dig_t = hash_time(src, n, "sha256"), hash_time(src, n, "ours")
        cmd = OURS + ["convert", str(src), "--algorithm", algo, "--verifier", str(verifier), "--output-path", str(work/"out"),
                      "--no-validate", "--quiet"]
        cps, walls, nets, rss = paired_runs(["cp", "-r", str(src), str(work/"copy")], work/"copy", cmd, work/"out", n)
        cp_t, t, net, ratio = (statistics.median(x) for x in (cps, walls, nets, [a / b for a, b in zip(nets, cps)]))
        written = sum(f.stat().st_size for f in (work/"out").iterdir() if f.suffix == ".safetensors")
        clear(work/"out")
        line = (f"{src.name:15} {mb(size):>9} {mb(written):>9} {cp_t:7.2f} {sha_t:8.2f} {dig_t:8.2f} {t:7.2f} {t - net:7.2f} {net:6.2f} {ratio:8.2f} "
                f"{mb(rss):>9} {mb(largest):>9} {mb(rss - largest):>11}")
        if ref:
            try:
                settle()  # its own form: validation runs only when --validate-device is given
                rt, rr, _ = run([str(ref), "convert", str(src), "--algorithm", algo, "--verifier", str(verifier), "--output-path", str(work/"ref-out")],
                                REF_ENV, work)
                line += f"  {rt:5.2f}  {ref_start:10.2f}  {(rt - ref_start) / cp_t:12.2f}  {mb(rr):>8}"
            except SystemExit as e: line += f"  reference failed: {str(e).splitlines()[-1][:60]}"
            shutil.rmtree(work/"ref-out", ignore_errors=True)
        print(line, flush=True)
        results.append((src.name, ratio, rss - largest, cps, nets))
    print("\nsource: checkpoint bytes (what the copy copies); written: tensor bytes we write (the EAGLE layout drops the draft's copy of the"
          " embedding after comparing it with the verifier's). copy: `cp -r` of the checkpoint directory. sha256: one thread computing the"
          " SHA-256 of the source weights files (what recording SHA-256 digests as provenance would cost: one file's SHA-256 cannot be"
          " split across cores). digest: the XXH3-128 digests a conversion records instead (`speculators.write.file_digest`). ours: wall time of the whole conversion process. net: the"
          " conversion itself, timed inside that process around `main()`, so net of the interpreter's start-up, `import speculators.cli`"
          " and exit; start: ours - net, the process's own start-up and exit (compare with the start-up line above). net/copy: the"
          " ratio the target is about: the median, over the pairs of runs (a copy, then ours), of each pair's net / copy. RSS-largest: peak RSS of the conversion process above the largest source tensor."
          + (" ref: the reference package's `speculators convert` (one run; no validation), wall time; ref-start: its start-up;"
             " ref-net/copy: (ref - ref-start) / copy; ref RSS: its peak RSS." if ref else ""))
    print(f"\ntargets: net/copy <= {TIME_TARGET}, RSS-largest <= {mb(RSS_TARGET)}" + (" (at this size the times are noise; the"
          " targets are meant for --size 8b)" if a.size != "8b" else ""))
    for name, ratio, over, cps, nets in results:
        each = ", ".join(f"{b:.2f}/{a:.2f}" for a, b in zip(cps, nets))
        print(f"  {name:15} time {'met' if ratio <= TIME_TARGET else 'NOT met'} ({ratio:.2f}x the copy; net/copy s of each pair: {each}), "
              f"memory {'met' if over <= RSS_TARGET else 'NOT met'} ({mb(over)} over the largest tensor)")
    if not a.keep: shutil.rmtree(work)

if __name__ == "__main__": main()
