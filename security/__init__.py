"""Security of data in transit and at rest: encryption of Temporal payloads (personal data) and the
codec server that lets the Temporal Web UI show them decrypted to those who hold its token."""
