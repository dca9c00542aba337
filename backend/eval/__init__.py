"""Evaluation: the field's metrics (DECO, PIAD), dataset readers, the evaluate CLI, synthetic sets."""
