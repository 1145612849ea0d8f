"""LPA core: LPD and LUI logic without I/O of its own (it talks through the objects it is given)."""
