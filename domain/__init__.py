"""The functional core: every SPEC rule once, no I/O, no clock reads, no Temporal."""
