#!/usr/bin/env python3
"""Golden POYO fixtures from torch_brain's own model, computed in float64 on the CPU.

  make_golden.py --out DIR [--only poyo_tiny|poyo_1_3M_b2]   write the fixtures (both by default)
  make_golden.py --check FILE...                             recompute fixtures and compare

Generation builds `torch_brain.models.POYO` for each fixture's config under a fixed seed, adds
N(0, 0.05^2) noise to every parameter (the padding row 0 of unit_emb/session_emb stays zero),
synthesises a batch (Poisson units with gamma-distributed rates), tokenizes every window with
`POYO.tokenize`, collates with torch_brain's pad8 (the padded path of the reference), and runs the
model in float64 in eval mode: predictions, weighted loss, every parameter gradient, three latent
snapshots (forward pre-hooks on torch_brain's own submodules), and the loss before each of 5 AdamW
steps. Weights are stored as the float32 values the float64 run started from; results are float64
rounded once to float32. Tools/golden/README.md documents every key.

`--check` loads a fixture's weights and packed batch (ours or any other made to the same
convention), recomputes everything in float64 and prints, per tensor, the normwise error
max|stored - recomputed| / max|recomputed| with PASS/FAIL against the tolerances below; exit 1 on
any failure. torch_brain 0.2.1 imports without optional packages (ray etc.), so no stubs are needed.
The run uses one CPU thread so that the same software on the same machine writes identical bytes.
"""

import argparse
import copy
import json
import sys
from importlib.metadata import PackageNotFoundError, version

PIP_HINT = "python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch torch-brain==0.2.1 safetensors"
try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from safetensors import safe_open
    from torch_brain.batching import collate, pad8, track_mask8
    from torch_brain.data import ArrayDict, Data, IrregularTimeSeries
    from torch_brain.models import POYO
except ImportError as err:  # one line, naming the install command
    sys.exit(f"make_golden.py: {err}; install the reference with: {PIP_HINT}")

PERTURBATION_STD = 0.05
OPTIMIZER = dict(name="torch.optim.AdamW", steps=5, lr=1e-3, betas=[0.9, 0.999], eps=1e-8, weight_decay=1e-4)
# Acceptance bounds for a float32 engine (normwise; loss and train.losses relative). --check holds
# the stored float32 values to the same bounds; storage rounding alone gives about 1e-7.
TOLERANCE = {"output": 1e-5, "latents": 1e-5, "loss": 1e-6, "grads": 2e-5, "train.losses": 2e-5}

# Constructor arguments shared by both fixtures. The dropout rates are the 1.3M config's; the
# reference runs in eval mode, so none is active.
BASE_CONFIG = dict(sequence_length=1.0, latent_step=0.125, dim_head=64, dim_out=2, t_min=1e-4, t_max=2.0627,
                   emb_init_scale=0.02, ffn_dropout=0.2, lin_dropout=0.4, atn_dropout=0.2)

# Window specs: session, the session's local unit numbers in the window (None = all), mean firing
# rate in Hz (per-unit rates are gamma(2, mean/2)), output count, and how many units are silent:
# exactly that many (chosen at random) get no spike; every other unit fires at least once.
FIXTURES = {
    "poyo_tiny": dict(
        seed=1,
        config=dict(BASE_CONFIG, dim=32, depth=2, cross_heads=2, self_heads=8, num_latents_per_step=4),
        sessions={"sessA": 7, "sessB": 12},
        windows=[dict(session="sessA", units=None, rate=6.0, n_out=100, silent=0),
                 dict(session="sessB", units=None, rate=12.0, n_out=100, silent=0),
                 # sessA after unit dropout: 5 of its 7 units, and only 37 outputs (END still at 1.0)
                 dict(session="sessA", units=[0, 2, 3, 5, 6], rate=3.0, n_out=37, silent=0)]),
    "poyo_1_3M_b2": dict(
        seed=2,
        config=dict(BASE_CONFIG, dim=64, depth=6, cross_heads=2, self_heads=8, num_latents_per_step=16),
        sessions={"rec0": 60},
        windows=[dict(session="rec0", units=None, rate=6.0, n_out=100, silent=10),
                 dict(session="rec0", units=None, rate=20.0, n_out=100, silent=0)]),
}

BATCH_KEYS = ["input.unit_index", "input.timestamps", "input.token_type", "input.lengths", "latent.index",
              "latent.timestamps", "output.timestamps", "output.lengths", "output.session_index",
              "target.values", "target.weights"]
LATENT_KEYS = ["expected.latents_after_encoder", "expected.latents_after_layer0", "expected.latents_final"]

NOTES = ("Reference: torch_brain POYO (torch_brain.models.POYO) in float64 (model.double()), eval mode, padded "
         "forward (pad8 + input_mask); weights are the float32 values the run started from, results are float64 "
         "rounded once to float32. Packing: samples concatenated in batch order, lengths in input.lengths / "
         "output.lengths. A sample's inputs are the tokenizer's: 2U tokens (unit START type 1 t=0, unit END "
         "type 2 t=sequence_length, in the window's local unit order) then the spikes sorted by time (type 0). "
         "input.unit_index indexes unit_vocab. latent.* is one sample's latent set (time-major), shared by all "
         "samples; expected.latents_* are [B*N_lat, dim], sample-major. Loss = sum_i w_i mean_d (pred-y)^2 / "
         "sum_i w_i over all outputs of the batch. grad.<key> = dLoss/d<key>. train.losses[s] = loss before "
         "AdamW step s on the same batch (settings in train_optimizer), float64. rotary_emb.omega is the buffer "
         "as torch_brain computes it in float32; use it as stored.")


# ---------------------------------------------------------------------------------------------
# Model


def build_model(config, unit_vocab, session_vocab):
    """torch_brain's POYO with vocabularies in the given order (index 0 is "NA", added by torch_brain)."""
    model = POYO(**config)
    model.unit_emb.initialize_vocab(list(unit_vocab[1:]))
    model.session_emb.initialize_vocab(list(session_vocab[1:]))
    return model


def perturb(model, seed, std):
    """Add N(0, std^2) to every parameter so that nothing sits at its default (LayerNorm 1/0 etc.)."""
    gen = torch.Generator().manual_seed(10_000 + seed)  # independent of the init stream
    with torch.no_grad():
        for _, p in model.named_parameters():
            p.add_(torch.randn(p.shape, generator=gen, dtype=p.dtype) * std)
        model.unit_emb.weight[0].zero_()  # padding rows stay zero
        model.session_emb.weight[0].zero_()


def weight_tensors(model):
    """The state_dict entries that are tensors (the vocabularies are not; they go to metadata)."""
    return {k: v for k, v in model.state_dict().items() if torch.is_tensor(v)}


# ---------------------------------------------------------------------------------------------
# Batch synthesis, tokenization and packing


def synth_window(spec, fixture, model, rng):
    """One 1 s window as a torch_brain Data object, tokenized by POYO.tokenize, plus its outputs."""
    session, length = spec["session"], model.sequence_length
    local = spec["units"] if spec["units"] is not None else list(range(fixture["sessions"][session]))
    unit_ids = np.array([f"{session}/unit_{i}" for i in local])
    rates = rng.gamma(2.0, spec["rate"] / 2.0, size=len(local))
    counts = rng.poisson(rates * length)
    silent = np.zeros(len(local), dtype=bool)
    silent[rng.choice(len(local), spec["silent"], replace=False)] = True
    counts = np.where(silent, 0, np.maximum(counts, 1))  # a zero draw of a non-silent unit becomes 1
    unit_index = np.repeat(np.arange(len(local)), counts)
    times = rng.uniform(0.0, length, size=unit_index.size)
    order = np.argsort(times, kind="stable")
    data = Data(spikes=IrregularTimeSeries(timestamps=times[order], unit_index=unit_index[order], domain="auto"),
                units=ArrayDict(id=unit_ids), session=Data(id=session), domain="auto")
    tokens = model.tokenize(data)
    tokens = {k: (v.obj if hasattr(v, "obj") else v) for k, v in tokens.items()}  # strip pad8 wrappers

    n = spec["n_out"]
    out_t = rng.uniform(0.0, 0.01) + np.arange(n) / 100.0  # 100 Hz with a random phase
    targets = rng.standard_normal((n, model.readout.out_features)).astype(np.float32)
    weights = np.ones(n, dtype=np.float32)
    for value, frac in ((5.0, 0.20), (0.1, 0.15)):  # one run of each; the second may overlap the first
        run = max(1, int(round(frac * n)))
        start = int(rng.integers(0, n - run + 1))
        weights[start:start + run] = value
    info = dict(session=session, units=len(local), spikes=int(unit_index.size), n_out=n,
                silent_units=int(np.sum(counts == 0)))
    return tokens, out_t, targets, weights, info


def pack(samples):
    """Concatenate tokenized windows in batch order (the fixtures' packed convention)."""
    lat_i, lat_t = samples[0][0]["latent_index"], samples[0][0]["latent_timestamps"]
    for s in samples:  # the latent grid is the same for every window
        assert np.array_equal(s[0]["latent_index"], lat_i) and np.array_equal(s[0]["latent_timestamps"], lat_t)
    cat = np.concatenate
    return {
        "input.unit_index": cat([s[0]["input_unit_index"] for s in samples]).astype(np.int64),
        "input.timestamps": cat([s[0]["input_timestamps"] for s in samples]).astype(np.float64),
        "input.token_type": cat([s[0]["input_token_type"] for s in samples]).astype(np.int64),
        "input.lengths": np.array([len(s[0]["input_unit_index"]) for s in samples], dtype=np.int64),
        "latent.index": np.asarray(lat_i, dtype=np.int64),
        "latent.timestamps": np.asarray(lat_t, dtype=np.float64),
        "output.timestamps": cat([s[1] for s in samples]).astype(np.float64),
        "output.lengths": np.array([len(s[1]) for s in samples], dtype=np.int64),
        "output.session_index": np.array([s[0]["session_index"] for s in samples], dtype=np.int64),
        "target.values": cat([s[2] for s in samples]).astype(np.float32),
        "target.weights": cat([s[3] for s in samples]).astype(np.float32),
    }


def slices(lengths):
    ends = np.cumsum(lengths)
    return [slice(int(e - n), int(e)) for n, e in zip(lengths, ends)]


def padded_batch(packed, only=None):
    """Unpack samples and collate them with torch_brain's pad8/track_mask8, as its data loader does."""
    samples = []
    ins, outs = slices(packed["input.lengths"]), slices(packed["output.lengths"])
    for b in (range(len(ins)) if only is None else [only]):
        i, o = ins[b], outs[b]
        samples.append(dict(
            input_unit_index=pad8(packed["input.unit_index"][i]),
            input_timestamps=pad8(packed["input.timestamps"][i]),
            input_token_type=pad8(packed["input.token_type"][i]),
            input_mask=track_mask8(packed["input.unit_index"][i]),
            latent_index=packed["latent.index"],
            latent_timestamps=packed["latent.timestamps"],
            session_index=int(packed["output.session_index"][b]),
            output_timestamps=pad8(packed["output.timestamps"][o]),
            output_mask=track_mask8(packed["output.timestamps"][o]),
        ))
    batch = collate(samples)
    return batch, batch.pop("output_mask")


# ---------------------------------------------------------------------------------------------
# Reference computation


def weighted_loss(pred, target, weight):
    """examples/poyo's weighted MSE: per-query mean over outputs, weighted, normalised by the weight sum."""
    per_query = F.mse_loss(pred, target, reduction="none").flatten(1).mean(1)
    return (per_query * weight).sum() / weight.sum()


def snapshot_hooks(model, store):
    """Forward pre-hooks on torch_brain's submodules: the latents entering layer 0, layer 1, the decoder."""
    def grab(key, pos):
        def hook(_module, args):
            store.setdefault(key, args[pos].detach().clone())
        return hook
    after0 = (model.proc_layers[1][0], 0) if len(model.proc_layers) > 1 else (model.dec_atn, 1)
    return [model.proc_layers[0][0].register_forward_pre_hook(grab(LATENT_KEYS[0], 0)),
            after0[0].register_forward_pre_hook(grab(LATENT_KEYS[1], after0[1])),
            model.dec_atn.register_forward_pre_hook(grab(LATENT_KEYS[2], 1))]


def run_reference(model, packed, steps, optimizer=OPTIMIZER, f32_times=(), batch=None):
    """Forward, loss, gradients, latent snapshots and the AdamW loss trajectory, in the model's dtype.

    f32_times names timestamp inputs ("input", "latent", "output") to cast to float32 before the
    model, so that their rotary angles are formed in float32 (used only for the fp32 measurements)."""
    model.eval()  # dropout off; gradients are still computed
    dtype = next(model.parameters()).dtype
    if batch is None:
        batch, out_mask = padded_batch(packed)
    else:
        batch, out_mask = batch
    for name in f32_times:
        batch[f"{name}_timestamps"] = batch[f"{name}_timestamps"].float()
    target = torch.from_numpy(packed["target.values"]).to(dtype)
    weight = torch.from_numpy(packed["target.weights"]).to(dtype)

    snaps = {}
    hooks = snapshot_hooks(model, snaps)
    model.zero_grad(set_to_none=True)
    pred = model(**batch)[out_mask]  # padded output rows dropped; packed order
    loss = weighted_loss(pred, target, weight)
    loss.backward()
    for h in hooks:
        h.remove()
    res = {"expected.output": pred.detach(), "expected.loss": loss.detach().reshape(1)}
    for key in LATENT_KEYS:
        res[key] = snaps[key].reshape(-1, snaps[key].shape[-1])
    for name, p in model.named_parameters():
        res["grad." + name] = p.grad.detach().clone()

    if steps:  # AdamW on a copy, same batch every step; losses[s] is the loss before step s
        m = copy.deepcopy(model)
        opt = torch.optim.AdamW(m.parameters(), lr=optimizer["lr"], betas=tuple(optimizer["betas"]),
                                eps=optimizer["eps"], weight_decay=optimizer["weight_decay"])
        losses = []
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            step_loss = weighted_loss(m(**batch)[out_mask], target, weight)
            losses.append(step_loss.detach())
            step_loss.backward()
            opt.step()
        res["train.losses"] = torch.stack(losses)
    return {k: v.double().numpy() for k, v in res.items()}


def normwise(stored, ref):
    """max|stored - ref| / max|ref| (for a scalar: relative error)."""
    diff = float(np.max(np.abs(np.asarray(stored, np.float64) - ref)))
    scale = float(np.max(np.abs(ref)))
    return diff / scale if scale > 0 else (0.0 if diff == 0 else float("inf"))


def self_checks(model64, packed, ref):
    """Properties the packed convention relies on, each expected within 1e-12 relative in float64:
    garbage in padded slots changes nothing; each sample alone (unpadded) gives the same outputs;
    the batch gradient is the per-sample gradients combined with weights W_b / W."""
    worst = {}
    g = torch.Generator().manual_seed(0)
    batch, out_mask = padded_batch(packed)
    pad = ~batch["input_mask"]
    n_pad = int(pad.sum())
    batch["input_unit_index"][pad] = torch.randint(0, model64.unit_emb.weight.shape[0], (n_pad,), generator=g)
    batch["input_token_type"][pad] = torch.randint(0, 3, (n_pad,), generator=g)
    batch["input_timestamps"][pad] = torch.rand(n_pad, generator=g, dtype=torch.float64)
    batch["output_timestamps"][~out_mask] = torch.rand(int((~out_mask).sum()), generator=g, dtype=torch.float64)
    garbage = run_reference(model64, packed, 0, batch=(batch, out_mask))
    worst["garbage_in_padding"] = max(normwise(garbage[k], ref[k]) for k in ref if k != "train.losses")

    outs, w = slices(packed["output.lengths"]), packed["target.weights"].astype(np.float64)
    grad_sum = {k: np.zeros_like(v) for k, v in ref.items() if k.startswith("grad.")}
    err_alone = 0.0
    for b, o in enumerate(outs):
        sub = dict(packed)
        sub["target.values"], sub["target.weights"] = packed["target.values"][o], packed["target.weights"][o]
        one, mask = padded_batch(packed, only=b)
        n_in, n_out = int(packed["input.lengths"][b]), int(packed["output.lengths"][b])
        unpadded = {k: (v[:, :n_in] if k.startswith("input_") else v[:, :n_out] if k.startswith("output_") else v)
                    for k, v in one.items()}
        unpadded["input_mask"] = None
        alone = run_reference(model64, sub, 0, batch=(unpadded, mask[:, :n_out]))
        err_alone = max(err_alone, normwise(alone["expected.output"], ref["expected.output"][o]))
        for k in grad_sum:
            grad_sum[k] += alone[k] * (w[o].sum() / w.sum())
    worst["sample_alone_output"] = err_alone
    worst["grad_combination"] = max(normwise(grad_sum[k], ref[k]) for k in grad_sum)
    return worst


def measure_fp32(model32, packed, ref):
    """Honest float32 figures against the float64 reference, with PyTorch's CPU float32 kernels.
    f64_times: timestamps stay float64, so torch promotes the angle t*omega to float64 and rounds
    cos/sin to float32; f32_output_times / f32_all_times: those timestamps are cast to float32 first."""
    out = {}
    for label, times, steps in (("f64_times", (), OPTIMIZER["steps"]),
                                ("f32_output_times", ("output",), 0),
                                ("f32_all_times", ("input", "latent", "output"), 0)):
        r = run_reference(copy.deepcopy(model32), packed, steps, f32_times=times)
        grads = {k[5:]: normwise(r[k], ref[k]) for k in ref if k.startswith("grad.")}
        worst = max(grads, key=grads.get)
        m = dict(output=normwise(r["expected.output"], ref["expected.output"]),
                 output_max_abs=float(np.max(np.abs(r["expected.output"] - ref["expected.output"]))),
                 latents_after_encoder=normwise(r[LATENT_KEYS[0]], ref[LATENT_KEYS[0]]),
                 latents_final=normwise(r[LATENT_KEYS[2]], ref[LATENT_KEYS[2]]),
                 loss_rel=normwise(r["expected.loss"], ref["expected.loss"]),
                 grad_max=grads[worst], grad_max_param=worst, grad_median=float(np.median(list(grads.values()))))
        if steps:
            m["train_losses_max_rel"] = float(np.max(np.abs(r["train.losses"] - ref["train.losses"])
                                                     / np.abs(ref["train.losses"])))
        out[label] = {k: (float(f"{v:.3e}") if isinstance(v, float) else v) for k, v in sorted(m.items())}
    return out


# ---------------------------------------------------------------------------------------------
# Generation


# Our own safetensors writer: safetensors.numpy.save_file writes the metadata in hash-map order,
# which changes from run to run. This one writes the same layout (compact JSON header padded with
# spaces to 8 bytes; tensors by dtype I64, F64, F32, then by name) with the metadata keys sorted.
DTYPE_TAGS = {"int64": ("I64", "<i8", 0), "float64": ("F64", "<f8", 1), "float32": ("F32", "<f4", 2)}


def write_safetensors(path, tensors, metadata):
    order = sorted(tensors, key=lambda k: (DTYPE_TAGS[tensors[k].dtype.name][2], k))
    header, blobs, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for k in order:
        tag, le, _ = DTYPE_TAGS[tensors[k].dtype.name]
        blob = np.ascontiguousarray(tensors[k], dtype=le).tobytes()
        header[k] = {"dtype": tag, "shape": list(tensors[k].shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(blobs))


def software():
    try:
        tb = version("torch-brain")
    except PackageNotFoundError:
        tb = "unknown"
    return dict(torch_version=torch.__version__, torch_brain_version=tb,
                torch_brain_source=f"PyPI torch-brain {tb} (torch_brain.models.POYO, torch_brain.nn)")


def generate(name, out_dir):
    fx = FIXTURES[name]
    seed, config = fx["seed"], fx["config"]
    units = sorted(f"{s}/unit_{i}" for s, n in fx["sessions"].items() for i in range(n))  # sorted as strings
    unit_vocab, session_vocab = ["NA"] + units, ["NA"] + sorted(fx["sessions"])

    torch.manual_seed(seed)  # torch_brain's default init under the seed
    model32 = build_model(config, unit_vocab, session_vocab)
    perturb(model32, seed, PERTURBATION_STD)
    assert list(model32.unit_emb.vocab) == unit_vocab and list(model32.session_emb.vocab) == session_vocab

    rng = np.random.default_rng(seed)
    samples = [synth_window(spec, fx, model32, rng) for spec in fx["windows"]]
    packed = pack(samples)
    windows = [s[4] for s in samples]

    model64 = copy.deepcopy(model32).double()  # exact copy of the float32 weights (omega included)
    ref = run_reference(model64, packed, OPTIMIZER["steps"])
    checks = self_checks(model64, packed, ref)
    print(f"{name}: self-checks " + ", ".join(f"{k} {v:.1e}" for k, v in checks.items()))
    if max(checks.values()) > 1e-12:
        sys.exit(f"make_golden.py: {name}: a self-check exceeded 1e-12 relative: {checks}")
    fp32 = measure_fp32(model32, packed, ref)

    tensors = {k: v.detach().numpy().copy() for k, v in weight_tensors(model32).items()}
    tensors.update(packed)
    tensors.update({k: v.astype(np.float32) for k, v in ref.items()})
    meta = dict(config=json.dumps(config, sort_keys=True), unit_vocab=json.dumps(unit_vocab),
                session_vocab=json.dumps(session_vocab), seed=str(seed), perturbation_std=str(PERTURBATION_STD),
                windows=json.dumps(windows), train_optimizer=json.dumps(OPTIMIZER),
                fp32_vs_fp64=json.dumps(fp32, sort_keys=True), notes=NOTES, **software())
    path = f"{out_dir}/{name}.safetensors"
    write_safetensors(path, tensors, meta)
    n_params = sum(p.numel() for p in model32.parameters())
    print(f"{name}: wrote {path}: {n_params} parameters, windows {windows}, loss {ref['expected.loss'][0]:.6f}, "
          f"train.losses {np.array2string(ref['train.losses'], precision=4)}")


# ---------------------------------------------------------------------------------------------
# Check


def check(path):
    """Recompute a fixture in float64 and compare every stored result; returns True when all pass."""
    with safe_open(path, "np") as f:
        meta = f.metadata() or {}
        stored = {k: f.get_tensor(k) for k in f.keys()}
    model = build_model(json.loads(meta["config"]), json.loads(meta["unit_vocab"]), json.loads(meta["session_vocab"]))
    print(f"== {path}")
    print(f"   made with torch {meta.get('torch_version')}, torch_brain {meta.get('torch_brain_version')}; "
          f"checked with torch {torch.__version__}, torch_brain {software()['torch_brain_version']}")
    ok = True
    expected_keys = set(weight_tensors(model))
    weight_keys = {k for k in stored if not k.startswith(("grad.", "expected.", "train.", "input.", "latent.",
                                                            "output.", "target."))}
    if weight_keys != expected_keys:
        print(f"   FAIL weight keys differ from the state_dict: extra {sorted(weight_keys - expected_keys)}, "
              f"missing {sorted(expected_keys - weight_keys)}")
        return False
    required = set(BATCH_KEYS) | set(LATENT_KEYS) | {"expected.output", "expected.loss", "train.losses"}
    required |= {"grad." + n for n, _ in model.named_parameters()}
    if required - set(stored):
        print(f"   FAIL missing tensors: {sorted(required - set(stored))}")
        return False
    own_omega = model.rotary_emb.omega.numpy().copy()
    with torch.no_grad():
        for k, t in weight_tensors(model).items():
            if tuple(stored[k].shape) != tuple(t.shape):
                print(f"   FAIL {k}: shape {stored[k].shape} vs {tuple(t.shape)}")
                return False
            t.copy_(torch.from_numpy(stored[k]))
    same = np.array_equal(own_omega, stored["rotary_emb.omega"])
    print(f"   rotary_emb.omega {'is bit-identical to' if same else 'DIFFERS from'} torch_brain's float32 omega "
          f"(the stored one is used)")
    optimizer = json.loads(meta.get("train_optimizer", json.dumps(OPTIMIZER)))
    ref = run_reference(model.double(), {k: stored[k] for k in BATCH_KEYS}, len(stored["train.losses"]), optimizer)

    worst = {}
    def report(group, key, err):
        nonlocal ok
        passed = err <= TOLERANCE[group]
        ok &= passed
        print(f"   {'PASS' if passed else 'FAIL'} {group:12s} {key:48s} {err:.2e}  (tol {TOLERANCE[group]:.0e})")
        if err >= worst.get(group, (-1.0, ""))[0]:
            worst[group] = (err, key)

    report("output", "expected.output", normwise(stored["expected.output"], ref["expected.output"]))
    for key in LATENT_KEYS:
        report("latents", key, normwise(stored[key], ref[key]))
    report("loss", "expected.loss", normwise(stored["expected.loss"], ref["expected.loss"]))
    zero_mismatch = []
    for key in sorted(k for k in ref if k.startswith("grad.")):
        report("grads", key, normwise(stored[key], ref[key]))
        if ref[key].ndim == 2:  # rows exactly zero in the reference (padding, unused vocab, type 3)
            if not np.array_equal(np.all(stored[key] == 0, axis=1), np.all(ref[key] == 0, axis=1)):
                zero_mismatch.append(key)
    losses = np.abs(stored["train.losses"].astype(np.float64) - ref["train.losses"]) / np.abs(ref["train.losses"])
    for s, err in enumerate(losses):
        report("train.losses", f"train.losses[{s}]", float(err))
    if zero_mismatch:
        ok = False
        print(f"   FAIL zero rows differ in {zero_mismatch}")
    n_zero = sum(int(np.all(ref[k] == 0, axis=1).sum()) for k in ref if k.startswith("grad.") and ref[k].ndim == 2)
    same_rows = "same rows in stored and recomputed" if not zero_mismatch else "MISMATCH"
    print(f"   zero-gradient rows: {n_zero}, {same_rows}")
    print("   worst: " + "; ".join(f"{g} {e:.2e} ({k})" for g, (e, k) in worst.items()))
    print(f"   {'PASS' if ok else 'FAIL'} {path}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="folder to write the fixtures into")
    ap.add_argument("--only", choices=sorted(FIXTURES), help="write only this fixture")
    ap.add_argument("--check", nargs="+", metavar="FILE", help="recompute these fixtures and compare")
    args = ap.parse_args()
    if bool(args.out) == bool(args.check):
        ap.error("give exactly one of --out DIR or --check FILE...")
    torch.set_num_threads(1)  # one thread: reproducible reductions, byte-identical files
    if args.check:
        results = [check(p) for p in args.check]
        print(f"{sum(results)}/{len(results)} fixtures PASS")
        sys.exit(0 if all(results) else 1)
    for name in ([args.only] if args.only else list(FIXTURES)):
        generate(name, args.out)


if __name__ == "__main__":
    main()
