"""Paper-style baseline of vit-benign: PyTorch, one run at a time, a Python loop over GD steps.

Written the way the authors' public code (github JiaruiJ/Benign_ViT, spec "Source") runs an
experiment: an ``nn.Module`` computing the literal f(X) = (1/M) 1^T softmax((X W_Q)(X W_K)^T)
(X W_V) w_O, ``torch.optim.SGD`` on the mean logistic loss, ``loss.item()`` each step for the
early stop, and the test loss evaluated once the run stops. Same semantics as the engine:
at step t the loss L_t of theta_t is computed; if L_t < stop_loss the run stops with
stop_step = t and keeps theta_t, else theta_{t+1} = theta_t - lr grad L_t.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


class OneLayerViT(torch.nn.Module):
    def __init__(self, w_q: np.ndarray, w_k: np.ndarray, w_v: np.ndarray, w_o: np.ndarray):
        super().__init__()
        self.w_q = torch.nn.Parameter(torch.from_numpy(np.array(w_q)))  # [d, d_h]
        self.w_k = torch.nn.Parameter(torch.from_numpy(np.array(w_k)))  # [d, d_h]
        self.w_v = torch.nn.Parameter(torch.from_numpy(np.array(w_v)))  # [d, d_v]
        self.register_buffer("w_o", torch.from_numpy(np.array(w_o)))  # [d_v], frozen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[n, M, d] -> [n]."""
        q, k, v = x @ self.w_q, x @ self.w_k, x @ self.w_v
        a = torch.softmax(q @ k.transpose(-1, -2), dim=-1)  # [n, M, M]
        return ((a @ v) @ self.w_o).mean(dim=-1)


def train_run(params, data, lr: float, stop_loss: float, steps: int) -> dict:
    """One run. params = (w_q, w_k, w_v) arrays; data = dict(w_o, x, y, x_test, y_test)."""
    model = OneLayerViT(*params, data["w_o"])
    x, y = torch.from_numpy(np.array(data["x"])), torch.from_numpy(np.array(data["y"]))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    stop_step = steps
    for t in range(steps):
        loss = F.softplus(-y * model(x)).mean()
        val = loss.item()
        losses.append(val)
        if val < stop_loss:
            stop_step = t
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        xt, yt = torch.from_numpy(np.array(data["x_test"])), torch.from_numpy(np.array(data["y_test"]))
        test_out = model(xt)
        test_loss = F.softplus(-yt * test_out).mean().item()
        final_train = F.softplus(-y * model(x)).mean().item()
    return dict(stop_step=stop_step, losses=losses, train_loss=final_train, test_loss=test_loss)
