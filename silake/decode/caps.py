"""Resource limits applied while decoding one sample: declared, with their defaults and how they follow from
the release, in `silake.schemas.limits`; set per run with SILAKE_* variables (`silake.settings`)."""

from __future__ import annotations

from silake.schemas.limits import DEFAULT_CAPS, MAX_FRAMES, MAX_INFLATED_BYTES, Caps

__all__ = ["DEFAULT_CAPS", "MAX_FRAMES", "MAX_INFLATED_BYTES", "Caps"]
