"""The flows of SPEC §6, one per kind, each read like its flow chart.

Every flow is driven by the ticket's state, so a run that continued as new
picks it up at the wait it left.
"""
