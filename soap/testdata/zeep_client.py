#!/usr/bin/python3
"""Drive the three WorkflowService operations with zeep (Debian python3-zeep).

Usage: zeep_client.py WSDL_URL VERSION AUTH USER PASSWORD [TASK_ID]
  VERSION  1.1 | 1.2  (binds the WorkflowServiceSoap or WorkflowServiceSoap12 port)
  AUTH     basic | wsse-text | wsse-digest
Prints one JSON object: each operation's result, and the fault text and HTTP
status of a call for the unknown task "no-such-task". Exits non-zero on any
unexpected error.
"""
import json
import sys

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken


def main():
    if len(sys.argv) not in (6, 7):
        sys.stderr.write(__doc__)
        return 2
    wsdl, version, auth, user, password = sys.argv[1:6]
    task = sys.argv[6] if len(sys.argv) == 7 else "T-1001"
    session = requests.Session()
    statuses = []
    session.hooks["response"].append(lambda r, *a, **k: statuses.append(r.status_code))
    wsse = None
    if auth == "basic":
        session.auth = (user, password)
    elif auth == "wsse-text":
        wsse = UsernameToken(user, password)
    elif auth == "wsse-digest":
        wsse = UsernameToken(user, password, use_digest=True)
    else:
        sys.stderr.write("unknown auth kind %r\n" % auth)
        return 2
    client = Client(wsdl, transport=Transport(session=session, timeout=30), wsse=wsse,
                    settings=Settings(strict=True))
    if version == "1.1":
        port = "WorkflowServiceSoap"
    elif version == "1.2":
        port = "WorkflowServiceSoap12"
    else:
        sys.stderr.write("unknown SOAP version %r\n" % version)
        return 2
    svc = client.bind("WorkflowService", port)
    out = {}
    out["ProcessInstanceTaskExternalAcknowledgement"] = svc.ProcessInstanceTaskExternalAcknowledgement(
        taskId=task, externalReference="EXT-42")
    out["ProcessInstanceTaskExternalUpdateMessage"] = svc.ProcessInstanceTaskExternalUpdateMessage(
        taskId=task, message="Technician on site <&> \u00e9t\u00e9 \u2713")
    out["ProcessInstanceTaskExternalReassignment"] = svc.ProcessInstanceTaskExternalReassignment(
        taskId=task, solution="Replaced the fan", closed=True)
    try:
        svc.ProcessInstanceTaskExternalUpdateMessage(taskId="no-such-task", message="hello")
        out["unknown_task_fault"] = None
    except Fault as f:
        out["unknown_task_fault"] = f.message
    # WCF reads a fault only from an HTTP 500 answer: the status the fault came with.
    out["unknown_task_fault_status"] = statuses[-1] if statuses else None
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
