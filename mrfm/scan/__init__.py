"""Scan plans, safe controller, SWMR data store."""
