"""Alertmanager-style notification pipeline: route, group, inhibit, silence, dedup, limit, send."""

from alerts.pipeline.builder import Pipeline, build_pipeline
from alerts.pipeline.config import PipelineConfig, Receiver
from alerts.pipeline.notification import Notification

__all__ = ["Notification", "Pipeline", "PipelineConfig", "Receiver", "build_pipeline"]
