"""The daily bulletin, notices and the residents' convention, trend dashboards, street/district roll-ups (issue #14)."""
