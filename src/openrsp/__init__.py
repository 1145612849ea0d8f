"""openrsp: an open GSMA SGP.22 consumer eSIM platform."""

__version__ = "0.1.0"
