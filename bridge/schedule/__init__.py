"""The operations schedule as pure functions: occurrences, maintenance, reschedules.

No store and no loop here: the runtime feeds the engine and stores what it says."""
