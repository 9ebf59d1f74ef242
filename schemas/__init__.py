"""The single source of truth for every record, npz shape and lake table (`silake.schemas`)."""
