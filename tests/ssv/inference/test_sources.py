import cv2
import numpy as np
import pytest

from ssv.inference.sources import ImageFiles, InputError, VideoFrames, open_input


def test_a_folder_gives_its_images_sorted_with_none_for_the_unreadable(image_folder):
    frames = list(open_input(image_folder, None))
    assert [frame.key for frame in frames] == ["a.png", "b.png", "broken.jpg", "sub/c.png"]
    assert frames[2].rgb is None and frames[0].rgb.shape == (48, 40, 3)


def test_a_single_image_is_keyed_by_its_name(image_folder):
    source = open_input(image_folder / "sub" / "c.png", None)
    assert isinstance(source, ImageFiles) and [frame.key for frame in source] == ["c.png"]


def test_a_video_gives_numbered_rgb_frames_up_to_max_frames(rgb_image, tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (40, 48))
    for seed in range(5):
        writer.write(cv2.cvtColor(rgb_image(seed), cv2.COLOR_RGB2BGR))
    writer.release()
    video = open_input(path, None, max_frames=3)
    assert isinstance(video, VideoFrames) and len(video) == 3 and video.fps == pytest.approx(10.0)
    frames = list(video)
    assert [frame.key for frame in frames] == ["0", "1", "2"]
    assert np.abs(frames[1].rgb.astype(int) - rgb_image(1)).mean() < 10
    assert len(open_input(path, None)) == 5


def test_missing_empty_or_unreadable_inputs_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="input not found"):
        open_input(tmp_path / "nothing", None)
    with pytest.raises(InputError, match="no images"):
        open_input(tmp_path, None)
    (tmp_path / "notes.txt").write_text("not a video")
    with pytest.raises(InputError, match="cannot open video"):
        open_input(tmp_path / "notes.txt", None)
