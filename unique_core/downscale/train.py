"""Training of the downscaling models: resumable, seeded, CPU or CUDA.

A checkpoint folder holds the network, its EMA copy and the AdamW moments as safetensors,
and the step, random state and loss history as JSON (no pickles). Training picks up from it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from unique_core.atomic import atomic_path
from unique_core.downscale import data as D
from unique_core.downscale.model import DownscaleConfig, Downscaler
from unique_core.errors import UniqueError


@dataclass
class TrainConfig:
    steps: int = 2000
    batch: int = 12
    crop: int = 64
    lr: float = 3e-4
    ema: float = 0.999
    checkpoint_every: int = 100
    val_every: int = 250
    seed: int = 0
    threads: int = 2


def _device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _save_checkpoint(folder: Path, model: Downscaler, ema: Downscaler, opt: torch.optim.Optimizer, step: int,
                     rng: np.random.Generator, history: list, tcfg: TrainConfig) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = {id(p): n for n, p in model.net.named_parameters()}
    opt_state = {}
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                n = names[id(p)]
                opt_state[f"{n}.exp_avg"] = st["exp_avg"].detach().cpu().contiguous()
                opt_state[f"{n}.exp_avg_sq"] = st["exp_avg_sq"].detach().cpu().contiguous()
                opt_state[f"{n}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1).cpu()
    for name, tensors in (("net", model.net.state_dict()), ("ema", ema.net.state_dict()), ("opt", opt_state)):
        with atomic_path(folder / f"{name}.safetensors") as tmp:
            save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp))
    with atomic_path(folder / "state.json") as tmp:
        tmp.write_text(json.dumps({"step": step, "rng": rng.bit_generator.state, "history": history,
                                   "train_config": asdict(tcfg), "model_config": model.config.to_json()},
                                  default=int))


RESUME_KEYS = ("scheme", "kind", "base", "mults", "timesteps", "channels", "base_map", "data_version")


def _same(v):
    return list(v) if isinstance(v, (list, tuple)) else v


def _load_checkpoint(folder: Path, model: Downscaler, ema: Downscaler, opt: torch.optim.Optimizer,
                     rng: np.random.Generator) -> tuple[int, list]:
    state = json.loads((folder / "state.json").read_text())
    saved_cfg = state.get("model_config", {})
    differ = [k for k in RESUME_KEYS if k in saved_cfg and _same(saved_cfg[k]) != _same(model.config.to_json()[k])]
    if differ:
        raise UniqueError(f"{folder} holds a checkpoint of another model ({', '.join(differ)} differ: "
                          f"{', '.join(f'{k} {saved_cfg[k]}' for k in differ)}); it cannot be resumed: delete the "
                          f"folder to train afresh (rm -r {folder})")
    model.net.load_state_dict(load_file(str(folder / "net.safetensors")))
    ema.net.load_state_dict(load_file(str(folder / "ema.safetensors")))
    saved = load_file(str(folder / "opt.safetensors"))
    for n, p in model.net.named_parameters():
        if f"{n}.exp_avg" in saved:
            opt.state[p] = {"exp_avg": saved[f"{n}.exp_avg"].to(p.device),
                            "exp_avg_sq": saved[f"{n}.exp_avg_sq"].to(p.device),
                            "step": torch.tensor(float(saved[f"{n}.step"][0]))}
    rng.bit_generator.state = state["rng"]
    return int(state["step"]), list(state["history"])


def train(mcfg: DownscaleConfig, train_samples: list[D.Sample], val_samples: list[D.Sample], tcfg: TrainConfig,
          checkpoint_dir: str | Path, progress: Callable[[int, int, float], None] | None = None) -> tuple[Downscaler, dict]:
    """Train (or resume) and return the EMA model and a summary (losses, time, hardware)."""
    torch.set_num_threads(tcfg.threads)
    torch.manual_seed(tcfg.seed)
    device = _device()
    checkpoint_dir = Path(checkpoint_dir)
    model = Downscaler(mcfg).to(device)
    ema = Downscaler(mcfg).to(device)
    ema.net.load_state_dict(model.net.state_dict())
    for p in ema.net.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.net.parameters(), lr=tcfg.lr, weight_decay=1e-4)
    rng = np.random.default_rng(tcfg.seed)
    step, history = 0, []
    if (checkpoint_dir / "state.json").exists():
        step, history = _load_checkpoint(checkpoint_dir, model, ema, opt, rng)
    gen = torch.Generator(device=device).manual_seed(tcfg.seed * 1000 + step)
    val_rng = np.random.default_rng(12345)
    val_batch = D.random_crops(val_samples, tcfg.crop, 32, val_rng) if val_samples else None
    t0 = time.time()
    run_losses = []
    while step < tcfg.steps:
        cond, target, mask = (torch.from_numpy(a).to(device) for a in D.random_crops(train_samples, tcfg.crop, tcfg.batch, rng))
        cond = cond.contiguous(memory_format=torch.channels_last)
        lr = tcfg.lr * min(1.0, (step + 1) / 200) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / tcfg.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        loss = model.loss(cond, target, mask, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.net.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.net.parameters(), model.net.parameters()):
                pe.mul_(tcfg.ema).add_(pm.detach(), alpha=1 - tcfg.ema)
        step += 1
        run_losses.append(loss.item())
        if step % 25 == 0:
            history.append({"step": step, "train_loss": float(np.mean(run_losses[-25:]))})
        if val_batch is not None and step % tcfg.val_every == 0:
            with torch.no_grad():
                vg = torch.Generator(device=device).manual_seed(99)
                c, t_, m = (torch.from_numpy(a).to(device) for a in val_batch)
                history.append({"step": step, "val_loss": float(ema.loss(c, t_, m, vg))})
        if step % tcfg.checkpoint_every == 0 or step == tcfg.steps:
            _save_checkpoint(checkpoint_dir, model, ema, opt, step, rng, history, tcfg)
        if progress:
            progress(step, tcfg.steps, run_losses[-1])
    ema.eval()
    summary = {"steps": step, "seconds_this_run": round(time.time() - t0, 1), "device": str(device),
               "threads": tcfg.threads, "train_config": asdict(tcfg), "history": history,
               "train_samples": len(train_samples), "val_samples": len(val_samples)}
    return ema.cpu(), summary
