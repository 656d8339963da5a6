"""Paper-style baseline of mamba-icl: PyTorch, one run at a time, a Python loop over GD steps.

The paper has no public code (spec "Source"), so the layer is written the way Mamba's own
reference implementation (``selective_scan_ref`` of mamba_ssm) runs an S6 layer on a CPU:
selection projections for the whole batch, then a Python loop over the L tokens updating the
[n, D, d_h] state, the prediction read at the query position of the y channel. Same model as
theorylab (spec "Model"): exact zero-order hold, B_bar = Delta phi(Delta A) B with
phi(z) = (e^z - 1)/z, A = -I, w_Delta = 0, Delta = ln2/N (Assumption 4.1); trained W_B, W_C,
b_B, b_C by full-batch GD on (1/2) mean (y_hat - y_q)^2 over the fixed training prompts.

Conservative choices (they favour the baseline): only the final output is formed (the
reference forms C_l^T h_l at every l), and the attention baselines that theorylab's
context-length experiment also trains are not trained here.
"""

from __future__ import annotations

import numpy as np
import torch


def s6_last_output(w_b, b_b, w_c, b_c, w_delta, b_delta, a, u: torch.Tensor, channel: int) -> torch.Tensor:
    """u [n, L, D] tokens -> [n]: o_L of ``channel``, by the sequential scan over tokens."""
    delta = torch.nn.functional.softplus(u @ w_delta + b_delta)  # [n, L]
    bsel = u @ w_b.T + b_b  # [n, L, d_h]
    z = delta[:, :, None, None] * a  # [n, L, D, d_h]
    a_bar = torch.exp(z)
    gain = delta[:, :, None, None] * torch.expm1(z) / z  # Delta phi(Delta a); a = -1 so z != 0
    bu = gain * bsel[:, :, None, :] * u[:, :, :, None]  # B_bar_l u_l  [n, L, D, d_h]
    h = torch.zeros(u.shape[0], u.shape[2], w_b.shape[0], dtype=u.dtype)  # [n, D, d_h]
    for l in range(u.shape[1]):
        h = a_bar[:, l] * h + bu[:, l]
    c_last = u[:, -1] @ w_c.T + b_c  # C_L [n, d_h]
    return (h[:, channel] * c_last).sum(-1)


def train_run(params: dict, frozen: dict, train_tok, train_y, lr: float, steps: int, test_tok=None, test_y=None,
              test_chunk: int = 5000) -> dict:
    """One run: GD for ``steps`` steps; per-step training losses and the final test loss."""
    t = lambda a: torch.from_numpy(np.array(a, dtype=np.float32))  # noqa: E731
    p = {k: t(params[k]).requires_grad_(True) for k in ("w_b", "b_b", "w_c", "b_c")}
    w_delta, b_delta, a = t(frozen["w_delta"]), t(frozen["b_delta"]), t(frozen["a"])
    u, y = t(train_tok), t(train_y)
    channel = u.shape[-1] - 1  # the y channel
    opt = torch.optim.SGD(p.values(), lr=lr)
    losses = []
    for _ in range(steps):
        pred = s6_last_output(p["w_b"], p["b_b"], p["w_c"], p["b_c"], w_delta, b_delta, a, u, channel)
        loss = 0.5 * ((pred - y) ** 2).mean()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = dict(losses=losses)
    if test_tok is not None:
        with torch.no_grad():
            se = []
            for i in range(0, len(test_tok), test_chunk):
                ut = t(test_tok[i:i + test_chunk])
                pred = s6_last_output(p["w_b"], p["b_b"], p["w_c"], p["b_c"], w_delta, b_delta, a, ut, channel)
                se.append(0.5 * (pred - t(test_y[i:i + test_chunk])) ** 2)
            out["test_loss"] = torch.cat(se).mean().item()
    return out
