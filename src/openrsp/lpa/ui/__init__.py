"""LPA front: the commands as actions, lpac-compatible JSON, text output and prompts."""
