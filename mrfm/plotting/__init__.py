"""Figures (PNG, matplotlib) for every kind of mrfm file; ``mrfm plot`` dispatches here."""
