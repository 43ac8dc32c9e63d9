"""Readers that stream Arrow batches, and atomic writers."""
