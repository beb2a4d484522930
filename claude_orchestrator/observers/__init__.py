"""Observers of a run: the wiring, the snapshot fold, the Rich display, event text, the NDJSON event log and
Slack. They read events and never decide anything."""
