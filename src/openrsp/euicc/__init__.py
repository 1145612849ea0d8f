"""The virtual eUICC: ISO 7816 card layer, ISD-R (ES10) and the applications it hosts."""
