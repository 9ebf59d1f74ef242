"""Tar reading: walk ustar headers with ranged reads, group members into samples, never touch the disk."""
