"""The write-once replica: every original's OCFL object copied to an S3 bucket with Object
Lock, proven there, and brought back from it when a dock's disk is lost."""
