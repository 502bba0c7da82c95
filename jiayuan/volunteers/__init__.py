"""Volunteers: registry, teams, shifts with a health gate, check-in/out and hours (issue #10)."""
