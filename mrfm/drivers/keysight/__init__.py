"""Keysight instruments: 33500B-series waveform generators."""
