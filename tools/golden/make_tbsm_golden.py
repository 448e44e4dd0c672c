#!/usr/bin/python3
"""Golden values for hotline's TBSM from facebookresearch/tbsm's own PyTorch model.

Builds tbsm_pytorch.TBSM_Net (on facebookresearch/dlrm's DLRM_Net, the authors' fast path: every history event of a
batch in one tower pass) for small architectures, sets fixed weights, runs fixed sequences, and writes the click
probabilities, the loss, every gradient, and the parameters after 3 SGD steps and after 3 Adagrad steps (hotline's
rule, dlrm's rwsadagrad: one state per embedding row, element-wise for the dense parameters). The modules the model
does not use (tensorboard, sklearn, tqdm) are stubbed; nothing of the authors' code is copied here.

Run (Debian python3-torch, checkouts of both repositories):
  /usr/bin/python3 tools/golden/make_tbsm_golden.py --tbsm TBSM_DIR --dlrm DLRM_DIR test/fixtures/tbsm-golden.json
"""
import argparse
import importlib
import json
import sys
import types

import numpy as np
import torch


class Stub(types.ModuleType):
    """A module the authors' files import at module level but the model never calls (tensorboard, sklearn, tqdm)."""

    __path__ = []  # a package: its submodules are stubbed as they are imported

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Stub(f"{self.__name__}.{name}")


def import_with_stubs(name):
    """Imports name, standing a Stub in for every module that is not installed."""
    for _ in range(20):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name in sys.modules or not e.name:
                raise
            sys.modules[e.name] = Stub(e.name)
    raise ImportError(f"{name}: too many missing modules")


def load_authors_code(tbsm_dir, dlrm_dir):
    sys.modules["torch.utils.tensorboard"] = Stub("torch.utils.tensorboard")  # present, but refuses without tensorboard
    sys.path.insert(0, dlrm_dir)
    sys.path.insert(0, tbsm_dir)
    dlrm_s_pytorch = import_with_stubs("dlrm_s_pytorch")
    tbsm_pytorch = import_with_stubs("tbsm_pytorch")

    tbsm_pytorch.dlrm = dlrm_s_pytorch  # tbsm imports it in its __main__ block
    tbsm_pytorch.args = argparse.Namespace(run_fast=True)
    return tbsm_pytorch


def widths(text):
    return np.array([int(v) for v in text.split("-")])


def build(tbsm_pytorch, case):
    """TBSM_Net as tbsm's get_tbsm builds it from its flags."""
    rows, dim = case["tableRows"], case["dim"]
    features = len(rows) + 1
    ln_bot = widths(case["mlpBot"])
    interactions = features * (features - 1) // 2 + dim
    ln_top = widths(f"{interactions}-{case['mlpTop']}")
    ln_mlp = widths(f"{2 * ln_top[-1]}-{case['mlp']}")
    return tbsm_pytorch.TBSM_Net(
        dim, np.array(rows), ln_bot, ln_top, "dot", False, ln_mlp, widths(case["tslMlp"]), "dot", case["mechanism"],
        case["tsLength"], -1, "tsl", case["seq"], True, case["inner"], case["heads"],
    )


def hotline_name(name):
    """tbsm's state-dict names to hotline's parameter names (nn.Sequential puts an activation after each Linear)."""
    parts = name.split(".")
    layer = lambda i: str(int(parts[i]) // 2)
    if parts[:2] == ["dlrm", "emb_l"]:
        return f"table.{parts[2]}"
    if parts[:2] == ["dlrm", "bot_l"]:
        return f"bottom.{layer(2)}.{parts[3]}"
    if parts[:2] == ["dlrm", "top_l"]:
        return f"top.{layer(2)}.{parts[3]}"
    if parts[0] == "ams" and parts[2] == "A":
        return f"tsl.{parts[1]}.A"
    if parts[0] == "ams":
        return f"tsl.{parts[1]}.attention.{layer(3)}.{parts[4]}"
    if parts[0] == "mlps":
        return f"tsl.{parts[1]}.mlp.{layer(2)}.{parts[3]}"
    if parts[0] == "final_mlp":
        return f"final.{layer(1)}.{parts[2]}"
    raise ValueError(f"unexpected parameter {name}")


def make_batch(rng, case, size):
    events = case["tsLength"] + 1
    return {
        "ids": [rng.integers(0, n, (size, events)).astype(np.int64).tolist() for n in case["tableRows"]],
        "dense": [[j / events for j in range(events)] for _ in range(size)],
        "labels": rng.integers(0, 2, size).astype(np.float32).tolist(),
    }


def run(model, batch):
    """The batch as tbsm's collate_wrapper_tbsm hands it over: per event, the dense column and per table its ids."""
    ids = [torch.tensor(t) for t in batch["ids"]]
    dense = torch.tensor(batch["dense"], dtype=torch.float32)
    size, events = dense.shape
    x = [dense[:, j].reshape(-1, 1) for j in range(events)]
    offsets = [[torch.arange(size) for _ in ids] for _ in range(events)]
    indices = [[t[:, j] for t in ids] for j in range(events)]
    probs = model(x, offsets, indices)
    labels = torch.tensor(batch["labels"]).view(-1, 1)
    return probs, torch.nn.BCELoss(reduction="mean")(probs, labels)


def rows_of(grad):
    return grad.coalesce().to_dense() if grad.is_sparse else grad


def params_of(model):
    return {hotline_name(n): p.detach().reshape(-1).tolist() for n, p in model.named_parameters()}


def hotline_adagrad_step(model, states, lr, eps):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.grad is None:
                continue
            if p.grad.is_sparse:  # a table: one state per row, the mean of its squared gradient
                g = p.grad.coalesce()
                rows, values = g.indices()[0], g.values()
                s = states.setdefault(name, torch.zeros(p.shape[0]))
                s.index_add_(0, rows, values.pow(2).mean(dim=1))
                p.index_add_(0, rows, -lr * values / (s[rows].sqrt() + eps).view(-1, 1))
            else:
                s = states.setdefault(name, torch.zeros_like(p))
                s.add_(p.grad * p.grad)
                p.add_(-lr * p.grad / (s.sqrt() + eps))


def train(model, init, batches, step):
    model.load_state_dict(init)
    for batch in batches:
        model.zero_grad()
        _, loss = run(model, batch)
        loss.backward()
        step()
    return params_of(model)


CASES = {
    # The authors' Taobao model (def inner product, mlp attention, one head), small.
    "def-mlp": dict(inner="def", mechanism="mlp", heads=1, seq=False),
    "ind-mul-sequential": dict(inner="ind", mechanism="mul", heads=2, seq=True),
    "dot-mlp-three-heads": dict(inner="dot", mechanism="mlp", heads=3, seq=False),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tbsm", required=True, help="a checkout of facebookresearch/tbsm")
    parser.add_argument("--dlrm", required=True, help="a checkout of facebookresearch/dlrm")
    parser.add_argument("out")
    args = parser.parse_args()
    tbsm_pytorch = load_authors_code(args.tbsm, args.dlrm)
    torch.set_default_dtype(torch.float32)
    cases = {}
    for k, (name, variant) in enumerate(CASES.items()):
        case = dict(tableRows=[7, 11, 5], dim=4, mlpBot="1-4", mlpTop="6-5", tslMlp="4", mlp="6-1", tsLength=4, **variant)
        np.random.seed(100 + k)
        torch.manual_seed(100 + k)
        model = build(tbsm_pytorch, case)
        with torch.no_grad():  # the tower's last biases raised: so small a tower otherwise zeroes most of z
            model.dlrm.top_l[-2].bias.add_(0.5)
        init = {n: p.detach().clone() for n, p in model.state_dict().items()}
        rng = np.random.default_rng(200 + k)
        batches = [make_batch(rng, case, 6) for _ in range(3)]
        probs, loss = run(model, batches[0])
        loss.backward()
        grads = {hotline_name(n): rows_of(p.grad).reshape(-1).tolist() for n, p in model.named_parameters()}
        sgd = torch.optim.SGD(model.parameters(), lr=0.1)
        after_sgd = train(model, init, batches, sgd.step)
        states = {}
        after_adagrad = train(model, init, batches, lambda: hotline_adagrad_step(model, states, 0.05, 1e-10))
        cases[name] = {
            "arch": case,
            "init": {hotline_name(n): t.reshape(-1).tolist() for n, t in init.items()},
            "batches": batches,
            "forward": {"probs": probs.detach().reshape(-1).tolist(), "loss": loss.item()},
            "grads": grads,
            "sgd": {"lr": 0.1, "params": after_sgd},
            "adagrad": {"lr": 0.05, "eps": 1e-10, "params": after_adagrad},
        }
    with open(args.out, "w") as f:
        json.dump({"generator": "tools/golden/make_tbsm_golden.py", "torch": torch.__version__, "cases": cases}, f)


if __name__ == "__main__":
    main()
