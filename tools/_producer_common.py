"""Helpers shared by the producer fixture scripts (tools/*_fixture.py), run in the producers' side venvs
(tools/producer_env.sh), and by the engine loaders (tools/vllm_load.py, tools/sglang_load.py: `Collect`, `err`, `jsonable`). Standard library only at import time: torch / safetensors are imported inside the
functions, after a fixture has set the environment variables its producer reads at import (e.g. TRITON_INTERPRET).

The fixtures run as `VENV/bin/python -I tools/X_fixture.py ...`, and -I leaves the script's directory off sys.path,
so they load this file by path:

    import importlib.util
    _spec = importlib.util.spec_from_file_location(
        "_producer_common", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_producer_common.py"))
    _common = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_common)
"""
import json
import logging
import os
import zlib



class Collect(logging.Handler):
    "Keeps an engine's warnings and errors (its log records) for a loader's report (tools/vllm_load.py, tools/sglang_load.py)."
    def __init__(self):
        super().__init__(logging.WARNING); self.records = []
    def emit(self, r):
        self.records.append(f"{r.levelname} {r.name}: {r.getMessage()}")


def err(e, limit=700):
    "An exception in one line of at most `limit` characters."
    m = f"{type(e).__name__}: {e}"
    return m if len(m) <= limit else m[:limit] + f"... [{len(m) - limit} more characters]"


def jsonable(v):
    "`v` as plain JSON data (anything else as its repr)."
    if isinstance(v, (str, int, float, bool)) or v is None: return v
    if isinstance(v, dict): return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)): return [jsonable(x) for x in v]
    return repr(v)

def tensor_seed(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**31)


def randomize_draft(model, seed: int):
    """Seeded weights, identical across variants for the tensors they share (one generator per tensor name);
    the embedding is skipped: the frozen embedding is the verifier's (loaded from it by the producer)."""
    import torch

    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed" in name:
                continue
            g = torch.Generator().manual_seed(tensor_seed(seed, name))
            if p.ndim == 1:  # every 1-D parameter here is an RMSNorm weight
                v = 1 + 0.1 * torch.randn(p.shape, generator=g)
            else:
                v = torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5
            p.copy_(v.to(p.dtype))


def dir_listing(path: str):
    from safetensors import safe_open

    info = {"files": sorted(os.listdir(path))}
    cfg_path = os.path.join(path, "config.json")
    if os.path.exists(cfg_path):
        info["config.json"] = json.load(open(cfg_path))
    tensors = {}
    for f in sorted(os.listdir(path)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(path, f), framework="pt") as h:
                for k in h.keys():
                    sl = h.get_slice(k)
                    tensors[k] = {"dtype": str(sl.get_dtype()), "shape": list(sl.get_shape()), "file": f}
    info["tensors"] = dict(sorted(tensors.items()))
    return info
