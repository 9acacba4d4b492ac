"""Citizens' reports of overcharging and service problems (issue 15): stored under a keyed
pseudonym, routed to the commune's CAFs, followed to an answer (docs/reports.md)."""
