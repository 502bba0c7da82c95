"""Gates: gate posts, one-scan passage, visitors and vehicles, passes, returnees at the gate, parcels (issue #11)."""
