"""Procedurally rendered image collections with exact viewpoints (faces, cars, buses).

    path = ensure_rendered("faces")          # <cache_dir>/faces-<hash>/{train,test}/labels.csv + images/
    styles = sample_styles("cars", 8, torch.Generator().manual_seed(0))
    images, masks = render_batch("cars", views, styles, image_size=128)  # views [8, 3] in radians
"""

from ssv.synthetic.collection import ensure_rendered
from ssv.synthetic.render import CATEGORIES, Rendering, Style, get_category, render_batch, sample_styles

__all__ = [
    "CATEGORIES", "Rendering", "Style", "ensure_rendered", "get_category", "render_batch", "sample_styles",
]
