"""What a kind's flow that goes through the back office works with: its ticket and every desk."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.claims import ClaimsDesk
    from workflows.flows.intake import Intake
    from workflows.messenger import Messenger
    from workflows.runtime import TicketRuntime
    from workflows.stations import StationDesk


class DeskFlow:
    """The back office, loss and damage flows: intake, the stations, claims and messages."""

    def __init__(self, runtime: TicketRuntime, intake: Intake, stations: StationDesk, claims: ClaimsDesk,
                 messenger: Messenger) -> None:
        self.rt = runtime
        self.intake = intake
        self.stations = stations
        self.claims = claims
        self.messenger = messenger
