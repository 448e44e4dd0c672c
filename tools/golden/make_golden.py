#!/usr/bin/python3
"""Golden values from PyTorch for hotline's numerics tests.

Builds small DLRMs the way facebookresearch/dlrm does (nn.EmbeddingBag(mode="sum", sparse=True),
nn.Linear + ReLU, dot or concatenation interaction, sigmoid + BCELoss), with fixed weights and
inputs, and writes outputs, loss, gradients, and the parameters after 3 SGD steps and after 3
Adagrad steps (dlrm's rwsadagrad rule: row-wise state for sparse tables, element-wise for dense).

Run: /usr/bin/python3 tools/golden/make_golden.py test/fixtures/golden.json   (Debian python3-torch)
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from pytorch_dlrm import Dlrm  # noqa: E402

torch.set_default_dtype(torch.float32)


def rws_adagrad_step(model, states, lr, eps, initial):
    """One step of row-wise sparse Adagrad (tables) and Adagrad (dense), written from dlrm's rule."""
    with torch.no_grad():
        for name, p in model.named_dense():
            s = states.setdefault(name, torch.full_like(p, initial))
            s.add_(p.grad * p.grad)
            p.add_(-lr * (p.grad / (s.sqrt() + eps)))
        for t, table in enumerate(model.tables):
            g = table.weight.grad.coalesce()
            rows, values = g.indices()[0], g.values()
            s = states.setdefault(f"table.{t}", torch.full([table.weight.shape[0]], initial))
            s.index_add_(0, rows, values.pow(2).mean(dim=1))
            denom = s[rows].sqrt() + eps
            table.weight.index_add_(0, rows, -lr * (values / denom.view(-1, 1)))


def make_batch(rng, size, dense_width, rows, max_pool):
    indices, offsets = [], []
    for n in rows:
        off, idx = [0], []
        for b in range(size):
            pool = int(rng.integers(0, max_pool + 1))  # empty bags included
            idx += [int(v) for v in rng.integers(0, n, pool)]
            off.append(len(idx))
        indices.append(idx)
        offsets.append(off)
    return {
        "dense": rng.random((size, dense_width)).astype(np.float32).ravel().tolist(),
        "indices": indices,
        "offsets": offsets,
        "labels": rng.integers(0, 2, size).astype(np.float32).tolist(),
    }


def run(model, batch):
    dense = torch.tensor(batch["dense"]).view(len(batch["labels"]), -1)
    idx = [torch.tensor(i, dtype=torch.long) for i in batch["indices"]]
    off = [torch.tensor(o[:-1], dtype=torch.long) for o in batch["offsets"]]
    probs = model(dense, idx, off)
    loss = nn.BCELoss(reduction="mean")(probs, torch.tensor(batch["labels"]))
    model.zero_grad(set_to_none=True)
    loss.backward()
    return probs, loss


def params(model):
    out = {name: p.detach().ravel().tolist() for name, p in model.named_dense()}
    out.update({f"table.{t}": tb.weight.detach().ravel().tolist() for t, tb in enumerate(model.tables)})
    return out


def grads(model):
    out = {name: p.grad.ravel().tolist() for name, p in model.named_dense()}
    out.update({f"table.{t}": tb.weight.grad.to_dense().ravel().tolist() for t, tb in enumerate(model.tables)})
    return out


def case(interaction, seed):
    rng = np.random.default_rng(seed)
    rows, dim = [7, 11, 5], 4
    features = len(rows) + 1
    top_in = dim + features * (features - 1) // 2 if interaction == "dot" else dim * features
    arch = {"bottomMlp": [5, 8, dim], "topMlp": [6, 1], "embeddingDim": dim, "tableRows": rows, "interaction": interaction}
    model = Dlrm(arch["bottomMlp"], [top_in] + arch["topMlp"], rows, dim, interaction)
    with torch.no_grad():
        for _, p in model.named_dense():
            p.copy_(torch.tensor(rng.normal(0, 0.5, p.shape), dtype=torch.float32))
        for tb in model.tables:
            tb.weight.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tb.weight.shape), dtype=torch.float32))
    init = {k: v.clone() for k, v in model.state_dict().items()}
    batches = [make_batch(rng, 6, 5, rows, 3) for _ in range(3)]
    result = {"arch": arch, "init": params(model), "batches": batches}
    probs, loss = run(model, batches[0])
    result["forward"] = {"probs": probs.detach().tolist(), "loss": float(loss)}
    result["grads"] = grads(model)

    lr = 0.1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for b in batches:
        run(model, b)
        opt.step()
    result["sgd"] = {"lr": lr, "params": params(model)}

    model.load_state_dict(init)
    # A non-zero initial accumulator (torch's initial_accumulator_value) exercises that option too.
    states, lr, eps, initial = {}, 0.05, 1e-10, 0.1
    for b in batches:
        run(model, b)
        rws_adagrad_step(model, states, lr, eps, initial)
    result["adagrad"] = {"lr": lr, "eps": eps, "initialAccumulator": initial, "params": params(model)}
    return result


def main():
    out = {"torch": torch.__version__, "cases": {"dot": case("dot", 7), "cat": case("cat", 8)}}
    with open(sys.argv[1], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
