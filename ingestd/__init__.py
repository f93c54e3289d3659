"""ingestd: docking-station daemon for 执法记录仪 (body-worn enforcement cameras)."""

__version__ = "0.1.0"
