#!/usr/bin/python3
"""Writes the golden request files (golden/*.req). Responses (golden/*.resp) are
written by `go test -run TestGolden -update` and reviewed by hand.

A .req file is: "METHOD target", header lines, a blank line, the body."""
import base64
import hashlib
import os

NS = "http://tempuri.org/"
ENV = {"1.1": "http://schemas.xmlsoap.org/soap/envelope/", "1.2": "http://www.w3.org/2003/05/soap-envelope"}
PATH = "/Workflow/WebService/WorkflowService.asmx"
USER, PASSWORD = "ssp7-client", "s3cret-Pa55"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
CREATED = "2026-05-04T10:00:00Z"  # testNow in helpers_test.go
NONCE = b"golden-nonce-016"

ACK = "ProcessInstanceTaskExternalAcknowledgement"
UPD = "ProcessInstanceTaskExternalUpdateMessage"
REA = "ProcessInstanceTaskExternalReassignment"


def basic(user=USER, pw=PASSWORD):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def wsse_text():
    return ('<wsse:Security xmlns:wsse="%s"><wsse:UsernameToken><wsse:Username>%s</wsse:Username>'
            '<wsse:Password Type="%s#PasswordText">%s</wsse:Password></wsse:UsernameToken></wsse:Security>'
            % (WSSE, USER, PROFILE, PASSWORD))


def wsse_digest():
    digest = base64.b64encode(hashlib.sha1(NONCE + CREATED.encode() + PASSWORD.encode()).digest()).decode()
    return ('<wsse:Security xmlns:wsse="%s" xmlns:wsu="%s"><wsse:UsernameToken><wsse:Username>%s</wsse:Username>'
            '<wsse:Password Type="%s#PasswordDigest">%s</wsse:Password><wsse:Nonce>%s</wsse:Nonce>'
            '<wsu:Created>%s</wsu:Created></wsse:UsernameToken></wsse:Security>'
            % (WSSE, WSU, USER, PROFILE, digest, base64.b64encode(NONCE).decode(), CREATED))


def op(name, **params):
    inner = "".join("<%s>%s</%s>" % (k, v, k) for k, v in params.items())
    return '<%s xmlns="%s">%s</%s>' % (name, NS, inner, name)


def envelope(v, body, header="", env_ns=None):
    ns = env_ns or ENV[v]
    h = "<soap:Header>%s</soap:Header>" % header if header else ""
    return ('<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="%s">%s<soap:Body>%s</soap:Body></soap:Envelope>\n'
            % (ns, h, body))


def headers(v, action, auth=True, ctype=None):
    hs = []
    if v == "1.1":
        hs.append("Content-Type: " + (ctype or "text/xml; charset=utf-8"))
        if action is not None:
            hs.append('SOAPAction: "%s"' % (NS + action if action and "/" not in action else action))
    else:
        ct = ctype or "application/soap+xml; charset=utf-8"
        if action is not None and ctype is None:
            ct += '; action="%s"' % (NS + action if action and "/" not in action else action)
        hs.append("Content-Type: " + ct)
    if auth:
        hs.append("Authorization: " + (auth if isinstance(auth, str) else basic()))
    return hs


def write(name, hs, body, method="POST", target=PATH):
    with open(os.path.join(os.path.dirname(__file__), "golden", name + ".req"), "w") as f:
        f.write("%s %s\n%s\n\n%s" % (method, target, "\n".join(hs), body))


def cases(v):
    other = "1.2" if v == "1.1" else "1.1"
    deep = "<a>" * 70 + "x" + "</a>" * 70
    laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n'
              '<soap:Envelope xmlns:soap="%s"><soap:Body>%s</soap:Body></soap:Envelope>\n'
              % (ENV[v], op(UPD, taskId="T-1", message="&lol3;")))
    return {
        "ok-acknowledgement": (headers(v, ACK), envelope(v, op(ACK, taskId="T-1001", externalReference="EXT-42"))),
        "ok-update-message": (headers(v, UPD, auth=False), envelope(v, op(UPD, taskId="T-1001", message="On site &lt;&amp;&gt; été"), wsse_text())),
        "ok-reassignment": (headers(v, None, auth=False), envelope(v, op(REA, taskId="T-1001", solution="Replaced the fan", closed="1"), wsse_digest())),
        "fault-auth-missing": (headers(v, ACK, auth=False), envelope(v, op(ACK, taskId="T-1001", externalReference="EXT-42"))),
        "fault-auth-wrong-password": (headers(v, ACK, auth=basic(pw="guess")), envelope(v, op(ACK, taskId="T-1001", externalReference="EXT-42"))),
        "fault-malformed": (headers(v, ACK), envelope(v, op(ACK, taskId="T-1001", externalReference="EXT-42")).replace("</soap:Body>", "")),
        "fault-doctype": (headers(v, UPD), laughs),
        "fault-too-deep": (headers(v, UPD), envelope(v, op(UPD, taskId="T-1001", message="hi"), '<x:Ext xmlns:x="urn:example:ext">' + deep + '</x:Ext>')),
        "fault-too-large": (headers(v, UPD), envelope(v, op(UPD, taskId="T-1001", message="x" * 3000))),
        "fault-media-type": (headers(v, UPD, ctype="application/json" if v == "1.1" else "application/soap+xml; charset=utf-16"),
                             envelope(v, op(UPD, taskId="T-1001", message="hi"))),
        "fault-version-mismatch": (headers(v, UPD), envelope(other, op(UPD, taskId="T-1001", message="hi"))),
        "fault-must-understand": (headers(v, UPD), envelope(v, op(UPD, taskId="T-1001", message="hi"),
                                  '<t:Trace xmlns:t="urn:example:trace" soap:mustUnderstand="%s">1</t:Trace>' % ("1" if v == "1.1" else "true"))),
        "fault-unknown-operation": (headers(v, "http://tempuri.org/ProcessInstanceTaskDelete"), envelope(v, op("ProcessInstanceTaskDelete", taskId="T-1001"))),
        "fault-unknown-element": (headers(v, None), envelope(v, op("ProcessInstanceTaskDelete", taskId="T-1001"))),
        "fault-action-mismatch": (headers(v, ACK), envelope(v, op(UPD, taskId="T-1001", message="hi"))),
        "fault-missing-parameter": (headers(v, ACK), envelope(v, op(ACK, externalReference="EXT-42"))),
        "fault-too-long": (headers(v, ACK), envelope(v, op(ACK, taskId="T-1001", externalReference="R" * 256))),
        "fault-bad-boolean": (headers(v, REA), envelope(v, op(REA, taskId="T-1001", solution="Fixed", closed="yes"))),
        "fault-unknown-parameter": (headers(v, UPD), envelope(v, op(UPD, taskId="T-1001", message="hi", priority="high"))),
        "fault-unknown-task": (headers(v, UPD), envelope(v, op(UPD, taskId="no-such-task", message="hi"))),
        "fault-conflict": (headers(v, REA), envelope(v, op(REA, taskId="closed-task", solution="Fixed"))),
        "fault-internal": (headers(v, UPD), envelope(v, op(UPD, taskId="boom", message="hi"))),
    }


for v in ("1.1", "1.2"):
    for name, (hs, body) in cases(v).items():
        write("%s-%s" % (name, v.replace(".", "")), hs, body)
