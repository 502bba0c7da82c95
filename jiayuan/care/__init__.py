"""Care: resident requests with priority and follow-up, errands, medical trips, visits,
psychological support, suggestions (issue #12)."""
