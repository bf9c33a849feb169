"""Released versions of the ticket workflow, and the patches that keep running tickets safe.

A ticket lives for weeks while the code changes under it. Each released
version has real runs saved under tests/histories/<version>/; every history
of every version must replay on today's code (tests/workflows/test_replay.py).
A change that alters the workflow's commands is gated with one patch per
version: `workflow.patched(<id>)` is asked once, when a run starts, and the
run keeps that answer to its end, so a ticket started on an older version
finishes its run the way it began it. README "Changing a workflow" has the
procedure.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

# Versions whose histories are frozen: tickets started on them may still be running.
RELEASED = ("v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8")
# The version this code records new histories into (`make histories`).
CURRENT = "v8"

# The liability ruling workflow (workflows/ruling.py) has its own corpus, tests/histories/ruling-<version>/.
RULING_RELEASED = ("v1",)
RULING_CURRENT = "v1"
# The released-SMS workflow (workflows/resend.py, R-ESC-5) likewise: tests/histories/resend-<version>/.
RESEND_RELEASED = ("v1",)
RESEND_CURRENT = "v1"

# v2: search attributes upserted only when they change; every long wait of every kind continues as new
# when Temporal suggests it (carrying unread messages, dropping the step log the record already holds);
# a message taken is held against duplicates until the flow has dealt with it.
V2 = "ticket-v2"
# v3 (issue 10): ladders once per ticket and stopped for good by feedback, a confirmed loss, a filed claim or
# the close; deadlines that the flow makes moot end superseded; dispatches delivered beside the flow with
# bounded retries (R-ESC-6 when undeliverable); R-CLK-1 from the call; internal waits on the clock with
# reminders; the result letter handed to finance; messages beside the flow.
V3 = "ticket-v3"
# v4 (issue 11): both parties and the stations the manuals name: the loss declared by the origin station,
# the sender compensated and asked for the written claim, the recipient told; claims anchored on the
# customer's claim and routed to a specialist when high-value or disputed; service complaints routed by
# their target; urgency assessed again when the shipment facts change.
V4 = "ticket-v4"
# v5 (issue 13): steps recorded by local activities (no server round trip each); deadlines on calendar time
# or on a calendar without a holiday table computed in the workflow from its pinned policy.
V5 = "ticket-v5"
# v6 (issue 15): a closed ticket with a responsible unit starts its liability ruling (R-LIA-1), workflow
# `ruling-<ticket id>`, through one activity that starts it exactly once.
V6 = "ticket-v6"
# v7 (issue 13): one patch per run instead of one per version. Each `workflow.patched` costs a marker and,
# from the SDK's core, an upsert of `TemporalChangeVersion` (two events and a visibility write); a run that
# has v7 has every earlier version's change, so it asks nothing else. Runs without it ask as before.
V7 = "ticket-v7"
# v8 (issue 10): a ladder's text still on its way (the provider down) when the ladder is stopped for good is
# withdrawn, not sent late: feedback at any point stops every ladder (R-ESC-4).
V8 = "ticket-v8"


@dataclass(frozen=True)
class Features:
    """What this run of a ticket does, decided once at its start from the patches in its history."""

    v2: bool
    v3: bool = False
    v4: bool = False
    v5: bool = False
    v6: bool = False
    v8: bool = False

    @staticmethod
    def of_this_run() -> Features:
        # The newest patch first: a new run records only it. Replaying a run started before v7, it is
        # absent (False, no command), and the older ones are asked in their order, as that run asked them.
        # Each next version adds its patch ahead of the newest the same way.
        if workflow.patched(V8):
            return Features(v2=True, v3=True, v4=True, v5=True, v6=True, v8=True)
        if workflow.patched(V7):
            return Features(v2=True, v3=True, v4=True, v5=True, v6=True)
        return Features(v2=workflow.patched(V2), v3=workflow.patched(V3), v4=workflow.patched(V4),
                        v5=workflow.patched(V5), v6=workflow.patched(V6))
