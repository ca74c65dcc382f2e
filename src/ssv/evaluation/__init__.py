"""Viewpoint evaluation with the paper's protocol: calibrate each angle linearly, then measure errors."""

from ssv.evaluation.checkpoints import CheckpointError, load_viewpoint_model
from ssv.evaluation.evaluator import ViewpointEvaluator, evaluate_model
from ssv.evaluation.metrics import ViewpointProtocolMetric
from ssv.evaluation.protocol import DEFAULT_N_CALIBRATION, AngleFit, CalibrationError, ProtocolResult, evaluate_protocol
from ssv.evaluation.report import format_table, report_dir, write_report

__all__ = [
    "DEFAULT_N_CALIBRATION",
    "AngleFit",
    "CalibrationError",
    "CheckpointError",
    "ProtocolResult",
    "ViewpointEvaluator",
    "ViewpointProtocolMetric",
    "evaluate_model",
    "evaluate_protocol",
    "format_table",
    "load_viewpoint_model",
    "report_dir",
    "write_report",
]
