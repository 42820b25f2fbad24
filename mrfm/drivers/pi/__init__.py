"""Physik Instrumente (PI) controllers: E-727 (GCS 2.0)."""
