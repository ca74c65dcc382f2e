import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Rendering is many short kernels: on a busy shared CPU, multi-threaded kernels stall on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _silhouette(category, azimuth: float, count: int = 4, image_size: int = 32):
    """Width and height ``[count]``, in pixels, of random objects of a category module seen at ``azimuth``."""
    from ssv.synthetic.common import Sampler
    from ssv.synthetic.raycast import cast
    from ssv.viewpoint import rotation_matrix

    shape = category.sample_shape(Sampler(count, torch.Generator().manual_seed(0)))
    views = torch.tensor([[azimuth, 0.0, 0.0]]).expand(count, 3)
    mask = cast(category.build(shape), rotation_matrix(views), image_size).mask.view(count, image_size, image_size)
    return mask.any(1).sum(-1), mask.any(2).sum(-1)


@pytest.fixture
def silhouette():
    """``silhouette(category_module, azimuth)``: widths and heights in pixels of four random objects at 32 px."""
    return _silhouette
