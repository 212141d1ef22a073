"""Mock exchange: a separate process standing in for exchange venues, over FIX 4.4 (QuickFIX).

It is the OMS's outside observer: what it logs and counts is how the tests prove the OMS's
rate limit, duplicate suppression and session gating from the venue's side. It therefore
imports nothing from the OMS and no Django, and keeps its rules simple enough to trust.
See exchange/README.md for the FIX side, the HTTP API and the counting rules.
"""
