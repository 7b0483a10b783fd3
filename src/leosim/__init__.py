"""leosim: an open simulator of a Starlink-style satellite-internet system.

The curated public names live here; everything else may change between releases.
"""

__all__ = []
