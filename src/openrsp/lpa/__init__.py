"""The LPA: talks ES10 to an eUICC (in-process or over PC/SC) and ES9+ to an SM-DP+."""
