#!/usr/bin/python3
"""Send the same UpdateMessage twice with zeep's WS-Addressing plugin, so each
call carries its own wsa:MessageID (Debian python3-zeep).

Usage: zeep_wsa_twice.py WSDL_URL USER PASSWORD TASK_ID TEXT
Prints one JSON object with both results. Exits non-zero on any error.
"""
import json
import sys

import requests
from zeep import Client
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin


def main():
    if len(sys.argv) != 6:
        sys.stderr.write(__doc__)
        return 2
    wsdl, user, password, task, text = sys.argv[1:6]
    session = requests.Session()
    session.auth = (user, password)
    client = Client(wsdl, transport=Transport(session=session, timeout=30), plugins=[WsAddressingPlugin()])
    svc = client.bind("WorkflowService", "WorkflowServiceSoap12")
    first = svc.ProcessInstanceTaskExternalUpdateMessage(taskId=task, message=text)
    second = svc.ProcessInstanceTaskExternalUpdateMessage(taskId=task, message=text)
    print(json.dumps({"first": first, "second": second}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
