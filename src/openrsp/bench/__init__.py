"""`openrsp bench`: measured speed of the SM-DP+, the virtual eUICC and profile generation."""
