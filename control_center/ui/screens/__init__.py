"""Screens pushed over the views (explanations, confirmations, override forms)."""
