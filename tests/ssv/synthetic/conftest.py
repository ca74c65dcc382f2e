import pytest
import torch


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Rendering is many short kernels: on a busy shared CPU, multi-threaded kernels stall on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
