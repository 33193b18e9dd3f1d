"""Train on high-entropy "forking" tokens only (Wang et al., "Beyond the 80/20 rule", arXiv 2506.01939)."""

from __future__ import annotations

import torch

from .aggregate import check_token_shapes


def top_entropy_mask(entropy: torch.Tensor, mask: torch.Tensor, quantile: float) -> torch.Tensor:
    """The valid tokens whose entropy is in the top ``quantile`` fraction, as TRL's ``top_entropy_quantile``.

    threshold = torch.quantile(entropy of the valid tokens, 1 - quantile)  (linear interpolation)
    selected  = valid & (entropy >= threshold)
    entropy, mask [N, T] -> bool [N, T]; quantile 1.0 selects every valid token, an empty mask selects
    none. Ties at the threshold are all kept, so slightly more than ``quantile`` may be selected. The
    quantile is over the tokens given (the trainer passes one micro-batch; TRL: its per-device batch
    gathered across processes). The caller multiplies the token loss by the mask and keeps the
    aggregation denominator of all tokens, as TRL does.
    """
    check_token_shapes(mask, entropy=entropy)
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"top_entropy_quantile must be in (0, 1], got {quantile}")
    valid = mask > 0
    values = entropy.detach()[valid].float()
    if values.numel() == 0:
        return torch.zeros_like(valid)
    threshold = torch.quantile(values, 1.0 - quantile)
    return valid & (entropy.detach() >= threshold)
