"""Where and how the denoising network runs: the device (CPU or CUDA) and the inference engine.

    dev = select_device("auto")                       # cuda when torch sees a GPU, else cpu
    eng = make_engine(model, device=dev, engine="auto")
    v = eng(x_and_cond, t)                            # (B, 1, H, W) torch tensor on eng.device

An engine is the network's forward pass only; the sampler (DDIM steps, noise, blending) stays
in unique_core.downscale.infer and is the same for every engine. Engines:

- torch: the model itself (channels_last on CPU). On CUDA, optionally in half precision
  (fp16 autocast) and with pinned-memory, non-blocking host-to-device copies.
- onnxruntime / openvino: the same weights exported once to ONNX (opset 18, dynamic batch and
  patch size), kept in the cache keyed by the weights' hash. ONNX Runtime runs one
  single-threaded session per torch thread, side by side on the parts of a batch. OpenVINO's "bf16" precision uses
  the CPU's bfloat16 units where they exist (AMX / AVX512-BF16); "fp32" keeps full precision.

"auto" on the CPU is ONNX Runtime when onnxruntime and onnx are installed (both are project
dependencies; it was the fastest CPU engine in bench/bench_cube.py, with maps equal to
torch's within 1e-4 gC m-2 d-1), else torch; on CUDA it is torch. What each engine and
precision costs in accuracy on the maps is measured in bench/ and stated in docs/cube.md.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.util
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from unique_core.atomic import atomic_path
from unique_core.config import cache_dir
from unique_core.errors import ModelError

Device = Literal["auto", "cpu", "cuda"]
EngineName = Literal["auto", "torch", "onnxruntime", "openvino"]
Precision = Literal["auto", "fp32", "fp16", "bf16"]
ENGINES = ("torch", "onnxruntime", "openvino")
# patches sampled together: on CPU batching does not lower the cost per patch (TOOLING.md: ONNX
# Runtime 13.7 ms at batch 1, 16 ms per patch at batch 8), so batches stay small (memory, cache);
# on a GPU large batches keep the device busy.
CPU_BATCH = 8
ORT_BATCH = 2
CUDA_BATCH = 64
# a half-precision map is used only when it stays this close (RMSE, gC m-2 d-1) to the fp32 map
HALF_PRECISION_TOLERANCE = 0.01


def cuda_available() -> bool:
    return bool(torch.cuda.is_available())


def select_device(device: Device = "auto") -> torch.device:
    """The torch device to run on: 'auto' takes CUDA when torch sees a GPU, else the CPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise ModelError(f"unknown device {device!r}: choose auto, cpu or cuda")
    if device == "cuda" and not cuda_available():
        raise ModelError("CUDA was asked for (--device cuda) but torch sees no GPU here "
                         f"(torch {torch.__version__}); use --device auto or --device cpu")
    if device == "auto":
        return torch.device("cuda" if cuda_available() else "cpu")
    return torch.device(device)


def default_batch(device: torch.device, engine: str = "torch") -> int:
    """How many patches one network call takes on this device and engine."""
    if device.type == "cuda":
        return CUDA_BATCH
    return ORT_BATCH if engine == "onnxruntime" else CPU_BATCH


def onnx_ready() -> bool:
    """Whether the ONNX Runtime engine can be made here (onnxruntime to run, onnx to export)."""
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


def auto_engine(device: torch.device, model) -> str:
    """The engine 'auto' picks: ONNX Runtime on the CPU for a diffusion model when installed, else torch."""
    if device.type == "cpu" and model.config.kind == "diffusion" and onnx_ready():
        return "onnxruntime"
    return "torch"


def half_precision_ok(ref: np.ndarray, half: np.ndarray, mask: np.ndarray,
                      tol: float = HALF_PRECISION_TOLERANCE) -> tuple[bool, float]:
    """(use it?, RMSE): whether a half-precision map (fp16/bf16) holds the fp32 map's accuracy.

    RMSE over `mask` in gC m-2 d-1; a map with a non-finite value where the fp32 map has one
    (an fp16 overflow) is never ok. bench/gpu_check.py decides the GPU region-year's precision
    with it.
    """
    ok = mask & np.isfinite(ref)
    if not ok.any():
        raise ModelError("no finite pixel to compare the half-precision map on")
    if not np.isfinite(half[ok]).all():
        return False, float("inf")
    rmse = float(np.sqrt(np.mean((half[ok].astype(np.float64) - ref[ok]) ** 2)))
    return rmse <= tol, rmse


def weights_digest(model) -> str:
    """A short hash of the network's weights (names, shapes and values)."""
    h = hashlib.sha256()
    for name, t in sorted(model.net.state_dict().items()):
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass
class Engine:
    """The network's forward pass v = net(cat(x_t, cond), t) on one device, one precision."""

    name: str
    device: torch.device
    precision: str
    batch: int
    # torch single-threaded while this engine samples (quiet_torch_threads); bench/bench_cube.py
    # `threads` turns it off to measure what it saves
    quiet_host: bool = True

    def __call__(self, xin: torch.Tensor, t: int) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_device(self, a: np.ndarray) -> torch.Tensor:
        """A host array onto the engine's device (pinned, non-blocking copies on CUDA)."""
        x = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        if self.device.type == "cuda":
            return x.pin_memory().to(self.device, non_blocking=True)
        return x

    def describe(self) -> dict:
        return {"engine": self.name, "device": str(self.device), "precision": self.precision, "batch": self.batch}


class TorchEngine(Engine):
    def __init__(self, model, device: torch.device, precision: str, batch: int):
        super().__init__("torch", device, precision, batch)
        self.net = model.net
        if device.type == "cuda":  # a copy: the cached CPU model stays usable
            self.net = copy.deepcopy(model.net).to(device=device, memory_format=torch.contiguous_format).eval()
        self._autocast = precision in ("fp16", "bf16")
        self._dtype = torch.float16 if precision == "fp16" else torch.bfloat16

    def __call__(self, xin: torch.Tensor, t: int) -> torch.Tensor:
        tt = torch.full((xin.shape[0],), int(t), dtype=torch.long, device=self.device)
        if self.device.type == "cpu":
            xin = xin.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if self._autocast:
                with torch.autocast(self.device.type, dtype=self._dtype):
                    return self.net(xin, tt).float()
            return self.net(xin, tt)


def onnx_path(model) -> Path:
    """The cached ONNX export of a model's network (made on first use)."""
    return cache_dir() / "engines" / f"downscale_{model.config.scheme}_{weights_digest(model)}.onnx"


_EXPORT_LOCK = threading.Lock()  # torch's ONNX exporter keeps global state: one export at a time per process


def export_onnx(model, path: Path | None = None) -> Path:
    """Export the network to ONNX (opset 18; batch, height and width dynamic), atomically.

    Threads of one process (Dask workers with processes=False) export one at a time; the
    ones that waited find the file made and use it.
    """
    path = path or onnx_path(model)
    with _EXPORT_LOCK:
        return path if path.exists() else _export(model, path)


def _export(model, path: Path) -> Path:
    if importlib.util.find_spec("onnx") is None:
        raise ModelError("the ONNX export needs the onnx package: pip install onnx (or use --engine torch)")
    net = model.net.to(memory_format=torch.contiguous_format).eval()
    c = model.config.in_channels
    x = torch.zeros(1, c, 32, 32)
    t = torch.zeros(1, dtype=torch.long)
    try:
        with atomic_path(path, suffix=".onnx") as tmp:
            torch.onnx.export(net, (x, t), str(tmp), opset_version=18, dynamo=False, input_names=["x", "t"],
                              output_names=["v"], dynamic_axes={"x": {0: "b", 2: "h", 3: "w"}, "t": {0: "b"},
                                                                "v": {0: "b", 2: "h", 3: "w"}})
    finally:
        model.net.to(memory_format=torch.channels_last)  # as Downscaler.load leaves it
    return path


class OnnxRuntimeEngine(Engine):
    """ONNX Runtime on the CPU: one single-threaded session per thread, each on its share of a batch.

    A patch's graph is a chain of small convolutions, which one intra-op thread pool parallelises
    poorly: on 2 cores one 2-thread session took 12.0 ms per 160 px patch, two 1-thread sessions
    side by side, one patch each, 9.6 ms (`python bench/bench_cube.py threads`, docs/cube.md).
    ONNX Runtime releases the GIL while it runs, so the sessions run in Python threads. Each
    patch goes through one session alone, so the result does not depend on how a batch is split
    (the maps of both layouts were equal to the bit in that run; tested within 1e-6).
    """

    def __init__(self, model, batch: int, sessions: int | None = None, threads_per_session: int = 1):
        super().__init__("onnxruntime", torch.device("cpu"), "fp32", batch)
        import onnxruntime as ort

        self.n_sessions = max(1, int(sessions or torch.get_num_threads()))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads_per_session))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # one chain of convolutions: nothing to overlap
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # conv fusions, NCHWc layout
        # no thread of a session waits spinning between calls (on a shared 2-core machine
        # spinning doubled the CPU time per patch: docs/cube.md)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = str(export_onnx(model))
        self.sessions = [ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
                         for _ in range(self.n_sessions)]
        self._pool = None
        if self.n_sessions > 1:
            self._pool = ThreadPoolExecutor(self.n_sessions, thread_name_prefix="unique-ort")
            weakref.finalize(self, self._pool.shutdown, wait=False)

    def __call__(self, xin: torch.Tensor, t: int) -> torch.Tensor:
        x = np.ascontiguousarray(xin.numpy(), dtype=np.float32)
        parts = np.array_split(x, min(self.n_sessions, len(x)))  # never empty: at most one per patch

        def run(k: int) -> np.ndarray:
            return self.sessions[k].run(["v"], {"x": parts[k], "t": np.full((len(parts[k]),), int(t), np.int64)})[0]

        if len(parts) == 1:
            return torch.from_numpy(run(0))
        return torch.from_numpy(np.concatenate(list(self._pool.map(run, range(len(parts))))))

    def describe(self) -> dict:
        return {**super().describe(), "sessions": self.n_sessions}


class OpenVinoEngine(Engine):
    def __init__(self, model, precision: str, batch: int):
        super().__init__("openvino", torch.device("cpu"), precision, batch)
        import openvino as ov

        core = ov.Core()
        hint = "bf16" if precision == "bf16" else "f32"
        self.compiled = core.compile_model(str(export_onnx(model)), "CPU", {
            "INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": torch.get_num_threads()})
        self.request = self.compiled.create_infer_request()

    def __call__(self, xin: torch.Tensor, t: int) -> torch.Tensor:
        x = np.ascontiguousarray(xin.numpy(), dtype=np.float32)
        tt = np.full((x.shape[0],), int(t), np.int64)
        out = self.request.infer({"x": x, "t": tt})
        return torch.from_numpy(np.array(next(iter(out.values())), dtype=np.float32))


_QUIET = {"depth": 0, "threads": 0}
_QUIET_LOCK = threading.Lock()


@contextlib.contextmanager
def quiet_torch_threads(engine: Engine):
    """While an engine other than torch's runs on the CPU, torch's own work is single-threaded.

    The sampler's DDIM update and concatenations between network calls are torch operations;
    with several torch threads, each one leaves OpenMP threads spinning that compete with
    ONNX Runtime's sessions for the same cores: on 2 cores a patch-step of the cube took 13.3
    ms instead of 9.3 ms (`python bench/bench_cube.py threads`, docs/cube.md). torch's thread
    count is per process, so other torch work of the process runs on one thread for that while;
    the first of overlapping users sets it and the last restores it.
    """
    if engine.name == "torch" or engine.device.type != "cpu" or not engine.quiet_host:
        yield
        return
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            _QUIET["threads"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0:
                torch.set_num_threads(_QUIET["threads"])


_SHARED: dict = {}
_SHARED_LOCK = threading.Lock()
SHARED_ENGINES = 4  # engines kept per process (one per model and device in use)


def shared_engine(model, device: Device = "auto") -> Engine:
    """This process's engine for `model` on `device` ('auto' picks as make_engine), made on first use.

    The daily products and the evaluation sample through it, so a worker process exports and
    opens the model's ONNX Runtime sessions once, not once per map. Keyed by the model object
    (held weakly: a reloaded model gets a new engine), the device and torch's thread count.
    """
    dev = select_device(device) if not isinstance(device, torch.device) else device
    key = (id(model), str(dev), torch.get_num_threads())
    with _SHARED_LOCK:
        hit = _SHARED.get(key)
        if hit is not None and hit[0]() is model:
            return hit[1]
        eng = make_engine(model, device=dev)
        if len(_SHARED) >= SHARED_ENGINES:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = (weakref.ref(model), eng)
        return eng


def bf16_capable() -> bool:
    """Whether OpenVINO reports bfloat16 units on this CPU (else its bf16 hint runs in fp32)."""
    if importlib.util.find_spec("openvino") is None:
        return False
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def make_engine(model, *, device: Device | torch.device = "auto", engine: EngineName = "auto",
                precision: Precision = "auto", batch: int | None = None) -> Engine:
    """The engine that runs `model`'s network: by name, or 'auto' (see auto_engine).

    precision 'auto' is fp32 everywhere (the shipped model's own arithmetic); fp16 (CUDA) and
    bf16 (OpenVINO on CPUs with bf16 units) are opt-in, with their map error in docs/cube.md.
    """
    dev = device if isinstance(device, torch.device) else select_device(device)
    if engine not in ("auto", *ENGINES):
        raise ModelError(f"unknown inference engine {engine!r}: choose auto, {', '.join(ENGINES)}")
    if precision not in ("auto", "fp32", "fp16", "bf16"):
        raise ModelError(f"unknown precision {precision!r}: choose auto, fp32, fp16 or bf16")
    prec = "fp32" if precision == "auto" else precision
    name = engine
    if engine == "auto":
        name = "torch" if prec != "fp32" else auto_engine(dev, model)
    if name != "torch" and dev.type == "cuda":
        raise ModelError(f"engine {name} runs on the CPU only: use --engine torch with --device cuda, "
                         "or --device cpu")
    if name == "torch" and dev.type == "cpu" and prec == "fp16":
        raise ModelError("fp16 is for CUDA: on the CPU use fp32 (or bf16 with --engine openvino)")
    if name == "onnxruntime" and prec != "fp32":
        raise ModelError("onnxruntime runs in fp32 here: use --precision fp32 (or bf16 with --engine openvino)")
    for pkg in ((name, "onnx") if name in ("onnxruntime", "openvino") else ()):
        if importlib.util.find_spec(pkg) is None:
            raise ModelError(f"engine {name} needs the {pkg} package: pip install {pkg} (or use --engine torch)")
    b = int(batch) if batch is not None else default_batch(dev, name)
    if b < 1:
        raise ModelError(f"batch must be at least 1 (got {b})")
    if model.config.kind != "diffusion" and name != "torch":
        raise ModelError(f"the {model.config.kind} model runs with --engine torch only")
    if name == "onnxruntime":
        return OnnxRuntimeEngine(model, b)
    if name == "openvino":
        return OpenVinoEngine(model, prec, b)
    return TorchEngine(model, dev, prec, b)
