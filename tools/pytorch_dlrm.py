"""The PyTorch DLRM used as hotline's reference, built as facebookresearch/dlrm builds it:
nn.EmbeddingBag(mode="sum", sparse=True) tables, nn.Linear + ReLU MLPs (no ReLU after the last top layer),
dot interaction over the strictly lower triangle (or concatenation), sigmoid output.
Shared by tools/golden/make_golden.py and bench/torch_dlrm.py."""
import torch
from torch import nn


class Dlrm(nn.Module):
    def __init__(self, bottom, top, rows, dim, interaction="dot"):
        super().__init__()
        self.interaction = interaction
        self.bottom = self.mlp(bottom, last_relu=True)
        self.top = self.mlp(top, last_relu=False)
        self.tables = nn.ModuleList([nn.EmbeddingBag(n, dim, mode="sum", sparse=True) for n in rows])
        features = len(rows) + 1
        self.li = torch.tensor([i for i in range(features) for j in range(i)])
        self.lj = torch.tensor([j for i in range(features) for j in range(i)])

    @staticmethod
    def mlp(widths, last_relu):
        layers = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2 or last_relu:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def named_dense(self):
        """(name, parameter) in hotline's naming: bottom.0.weight, bottom.0.bias, ..., top.N.bias."""
        out = []
        for prefix, mlp in (("bottom", self.bottom), ("top", self.top)):
            for i, lin in enumerate(m for m in mlp if isinstance(m, nn.Linear)):
                out += [(f"{prefix}.{i}.weight", lin.weight), (f"{prefix}.{i}.bias", lin.bias)]
        return out

    def forward(self, dense, indices, offsets):
        x = self.bottom(dense)
        ly = [t(idx, off) for t, idx, off in zip(self.tables, indices, offsets)]
        if self.interaction == "dot":
            batch, dim = x.shape
            T = torch.cat([x] + ly, dim=1).view((batch, -1, dim))
            Z = torch.bmm(T, torch.transpose(T, 1, 2))
            R = torch.cat([x, Z[:, self.li, self.lj]], dim=1)
        else:
            R = torch.cat([x] + ly, dim=1)
        return torch.sigmoid(self.top(R)).view(-1)
