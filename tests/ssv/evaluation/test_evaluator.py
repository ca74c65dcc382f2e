import torch

from datamodules.labeled import LabeledImageDataset
from datamodules.manifest import read_manifest
from ssv.config import to_container
from ssv.evaluation.checkpoints import load_viewpoint_model
from ssv.evaluation.evaluator import evaluate_model
from ssv.module import SSVModule

BATCH = 4


def test_predictions_are_the_models_angles_in_degrees_in_dataset_order(ssv_checkpoint, rendered_faces):
    items = read_manifest(rendered_faces / "test" / "labels.csv")
    model = load_viewpoint_model(ssv_checkpoint)
    result = evaluate_model(model, items, image_size=32, batch_size=BATCH, n_calibration=5, progress=False)
    dataset = LabeledImageDataset(items, 32)
    images = torch.stack([dataset[index]["image"] for index in range(len(items))])
    with torch.no_grad():
        expected = torch.cat([torch.rad2deg(model(image[None])) for image in images])
    assert torch.equal(result.index, torch.arange(len(items)))
    assert torch.allclose(result.predicted, expected.double(), atol=1e-4)
    assert torch.allclose(result.true, torch.tensor([item.angles for item in items], dtype=torch.float64))


def test_the_batch_size_does_not_change_any_prediction(tiny, rendered_faces):
    items = read_manifest(rendered_faces / "test" / "labels.csv")
    assert len(items) % BATCH, "the collection must end with a short batch"
    model = SSVModule(to_container(tiny("model.stddev_group=4"))).eval()
    results = [evaluate_model(model, items, image_size=32, batch_size=size, n_calibration=5, progress=False)
               for size in (1, BATCH, len(items))]
    for result in results[1:]:  # equal up to the rounding of batched convolutions (degrees)
        torch.testing.assert_close(result.predicted, results[0].predicted, rtol=0, atol=1e-3)


def test_evaluation_leaves_no_lightning_files_behind(ssv_checkpoint, rendered_faces, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    items = read_manifest(rendered_faces / "test" / "labels.csv")
    evaluate_model(load_viewpoint_model(ssv_checkpoint), items, image_size=32, batch_size=BATCH, n_calibration=5,
                   progress=False)
    assert list(tmp_path.iterdir()) == []
