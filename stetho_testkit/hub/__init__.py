"""The hospital hub's scenarios: recordings, hub processes, fleet, faults, outage, console."""
