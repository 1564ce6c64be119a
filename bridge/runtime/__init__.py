"""The processes' loops: the collector lease and the duties its holder runs.

Polling, the schedule duty, traps, delivery through the outbox and the HTTP intake."""
