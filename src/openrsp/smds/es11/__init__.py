"""See openrsp.smds."""
