"""Readers of the paper's datasets in their published formats, and their preparation into training-ready crops.

Every reader returns a :class:`~datamodules.datasets.records.Scan`: the samples it found (image, crop box, view)
and the items it had to skip, each logged on one line with its reason. Labeled views are (azimuth, elevation,
tilt) in degrees; for faces that is (yaw, pitch, roll), signs as documented in each reader.
"""
