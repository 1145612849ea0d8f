"""ES2+ (operator ↔ SM-DP+, SGP.22 §5.3): the service, the client, and the progress reports."""
