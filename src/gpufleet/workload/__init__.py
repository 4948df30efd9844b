"""What is asked: jobs, trace readers and writers, and synthetic workload generators."""

from gpufleet.workload.job import JOB_KINDS, TOPOLOGIES, Job

__all__ = ["JOB_KINDS", "TOPOLOGIES", "Job"]
