"""Daily operations: patrols and follow-up tasks, disinfection and garbage rounds, hazards and group-rental cases
(issue #10)."""
