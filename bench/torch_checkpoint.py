"""The reference for bench/checkpoint.ts: torch.save / torch.load of a state dict with the same float32 tensors
(the Kaggle DLRM: 26 tables x 16 and the MLPs), timed the same way. Prints one JSON line.
usage: python3 bench/torch_checkpoint.py DIR SHAPES_JSON"""
import json, os, sys, time
import torch

folder, shapes = sys.argv[1], json.loads(sys.argv[2])
state = {name: torch.empty(n, dtype=torch.float32).uniform_(-0.01, 0.01) for name, n in shapes.items()}
path = os.path.join(folder, "torch-state.pt")
t = time.perf_counter()
torch.save(state, path)
with open(path, "rb+") as f:  # the same durability as hotline's checkpoint: on disk before it counts
    os.fsync(f.fileno())
save = time.perf_counter() - t
t = time.perf_counter()
loaded = torch.load(path)
load = time.perf_counter() - t
print(json.dumps({"saveSeconds": save, "loadSeconds": load, "bytes": os.path.getsize(path)}))
os.remove(path)
