"""The OpenAPI contract against the answers, by schemathesis (issue 11).

Its CLI runs against the API served in this process (tests/api/conftest.py: uvicorn and a worker on
the Temporal dev server and a SQLite record; nothing faked): every operation with data the schema
allows and data it forbids (examples, coverage and fuzzing phases), then sequences that follow the
schema's links (the stateful phase: open a ticket, then read, amend and answer it; see
schemathesis_hooks.py for how its tickets open).

Shown: no answer is a 5xx, and every answer (status, headers, content type, body) is one the schema
documents. Left out: `positive_data_acceptance`, since the intake rules refuse requests no schema can
describe (another carrier's waybill, a phone abroad: R-WB-1, R-REC-1) with a documented 422.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# About a minute for the whole run on two cores; CI derandomizes, as tests/conftest.py does.
MAX_EXAMPLES = 30


def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_contract(served_api, tmp_path):
    argv = [
        str(SCHEMATHESIS), "run", f"{served_api.url}/openapi.json",
        # A key holding every role everywhere (but admin: see ServedApi), so every operation is reached; its
        # `ignored_auth` check also sends each operation without it, and wants the documented 401.
        "--header", f"Authorization: Bearer {served_api.fuzz_key}",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
        "--suppress-health-check", "all", "--no-color", "--report", "ndjson", "--report-dir", str(tmp_path),
    ]
    # CI: the same cases every run; locally each run explores anew, remembering nothing in the work tree.
    argv += ["--generation-deterministic", "--seed", "11"] if os.environ.get("CI") else ["--generation-database", "none"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.api.schemathesis_hooks"}
    run = subprocess.run(argv, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-5000:]
    print(run.stdout[-6000:])


async def test_the_document_describes_what_is_sent_as_the_issue_found_it_did_not(http):
    """Response schemas require only what is sent; 404/409 and the error body are documented."""
    doc = (await http.get("/openapi.json")).json()
    schemas, paths = doc["components"]["schemas"], doc["paths"]
    assert "fingerprint" not in schemas["TicketOut"]["properties"]
    assert not {"fingerprint", "steps"} & set(schemas["TicketSummary"]["properties"])
    assert not {"ticket_id", "template", "params"} & set(schemas["MessageOut"]["properties"])
    assert schemas["ErrorBody"]["properties"]["detail"]["type"] == "array"
    assert {"404", "409"} <= set(paths["/v1/tickets/{ticket_id}/callbacks"]["post"]["responses"])
    assert "404" in paths["/v1/tickets/{ticket_id}"]["get"]["responses"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert {"413", "422", "500", "503"} <= set(operation["responses"]), (method, path)
    opened = paths["/v1/tickets"]["post"]["responses"]["201"]
    assert opened["links"]["GetTicket"]["operationId"] == "get_ticket"
