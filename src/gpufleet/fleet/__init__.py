"""What exists: GPU models, sites, clusters, blocks, NVLink domains, and their free capacity."""

from gpufleet.fleet.catalog import CATALOG, GpuModel
from gpufleet.fleet.model import Cluster, Fleet, Site

__all__ = ["CATALOG", "Cluster", "Fleet", "GpuModel", "Site"]
