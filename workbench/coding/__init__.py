"""Coding: coders that propose codings with provenance, and the metrics that evaluate them."""
