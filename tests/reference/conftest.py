"""Fixtures of the stand-in pipeline's self-tests (servers, clip, per-test pipeline), from the harness."""

from reference_harness import bucket, clip, moto_endpoint, pipeline, redis_port

__all__ = ["bucket", "clip", "moto_endpoint", "pipeline", "redis_port"]
