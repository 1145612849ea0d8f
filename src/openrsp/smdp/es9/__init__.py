"""ES9+ (LPA → SM-DP+, SGP.22 §5.6): the service, its storage, and the rules it applies."""
