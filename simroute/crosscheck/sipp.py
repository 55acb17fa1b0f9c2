"""SIPp scenarios: a caller that follows the trace, and one far end per trunk that plays its verdicts.

SIPp has no Poisson arrivals, so the caller starts calls ahead of time and pauses each one until its
arrival time (``[clock_tick]``, milliseconds since SIPp started, against the trace's time). Every
INVITE carries one header per trunk, ``X-V-<trunk>: <kind> <code> <ms>`` (``a``: answer after ms,
``e``: reject with code after ms, ``r``: ring until cancelled); each trunk's far end reads its own.
"""

from __future__ import annotations

from ..scenario.codes import cause_info
from .lab import Lab

__all__ = ["uac", "uas", "header_name"]

_XML = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'


def header_name(trunk: str) -> str:
    return "X-V-" + trunk


def uas(trunk: str, error_codes: list[int]) -> str:
    """The far end of ``trunk``: 100 and 180 at once, then its verdict for the call; ``error_codes``:
    the codes its verdicts may reject with (SIPp needs each status line written out)."""
    h = header_name(trunk)
    codes = sorted(set(error_codes))
    reply = """
SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag[call_number]
[last_Call-ID:]
[last_Record-Route:]
[last_CSeq:]
Contact: <sip:{trunk}@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
"""

    def send(status: str) -> str:
        return f"  <send><![CDATA[{reply.format(status=status, trunk=trunk)}\n]]></send>\n"

    return (
        _XML
        + f'<scenario name="simroute far end of trunk {trunk}">\n'
        + '  <recv request="INVITE" crlf="true">\n    <action>\n'
        + f'      <ereg regexp="([aer]) ([0-9]+) ([0-9]+)" search_in="hdr" header="{h}:" '
        'check_it="true" assign_to="v,kind,code,ms"/>\n'
        '      <todouble assign_to="wait" variable="ms"/>\n'
        '      <strcmp assign_to="ka" variable="kind" value="a"/>\n'
        '      <strcmp assign_to="ke" variable="kind" value="e"/>\n'
        '      <test assign_to="isa" variable="ka" compare="equal" value="0"/>\n'
        '      <test assign_to="ise" variable="ke" compare="equal" value="0"/>\n'
        '      <todouble assign_to="coded" variable="code"/>\n'
        + "".join(
            f'      <test assign_to="is{c}" variable="coded" compare="equal" value="{c}"/>\n' for c in codes
        )
        + '      <log message="verdict [$v]: [$kind] [$code] [$ms] [$ka] [$ke] [$coded]"/>\n'
        "    </action>\n  </recv>\n"
        + send("100 Trying")
        + send("180 Ringing")
        + '  <nop test="isa" next="answer"/>\n'
        '  <nop test="ise" next="error"/>\n'
        '  <recv request="CANCEL"/>\n'
        + send("200 OK")
        + send("487 Request Terminated").replace("[last_CSeq:]", "CSeq: [last_cseq_number] INVITE")
        + '  <recv request="ACK"/>\n'
        '  <nop next="end"/>\n'
        '  <label id="answer"/>\n'
        '  <pause variable="wait"/>\n' + send("200 OK") + '  <recv request="ACK"/>\n'
        '  <recv request="BYE"/>\n' + send("200 OK") + '  <nop next="end"/>\n'
        '  <label id="error"/>\n'
        '  <pause variable="wait"/>\n'
        + "".join(f'  <nop test="is{c}" next="e{c}"/>\n' for c in codes)
        + '  <nop next="end"/>\n'
        + "".join(
            f'  <label id="e{c}"/>\n'
            + send(f"{c} {reason(c)}")
            + '  <recv request="ACK"/>\n  <nop next="end"/>\n'
            for c in codes
        )
        + '  <label id="end"/>\n'
        "</scenario>\n"
    )


def reason(code: int) -> str:
    return cause_info(code).reason


def uac(lab: Lab, failure_codes: list[int]) -> str:
    """The caller: field0 arrival (ms since SIPp start), field1 holding (ms), field2 DID, field3 caller,
    then one verdict field per trunk in the lab's order. ``failure_codes``: every final error code
    Kamailio may relay to the caller."""
    verdicts = "\n".join(f"{header_name(t.name)}: [field{4 + i}]" for i, t in enumerate(lab.trunks))
    fails = "".join(
        f'  <recv response="{c}" optional="true" next="failed"/>\n' for c in sorted(set(failure_codes))
    )
    return (
        _XML + '<scenario name="simroute caller following the trace">\n'
        "  <nop>\n    <action>\n"
        '      <assignstr assign_to="nows" value="[clock_tick]"/>\n'
        '      <todouble assign_to="now" variable="nows"/>\n'
        '      <assignstr assign_to="arrs" value="[field0]"/>\n'
        '      <todouble assign_to="wait" variable="arrs"/>\n'
        '      <subtract assign_to="wait" variable="now"/>\n'
        '      <assignstr assign_to="holds" value="[field1]"/>\n'
        '      <todouble assign_to="hold" variable="holds"/>\n'
        "    </action>\n  </nop>\n"
        '  <pause variable="wait"/>\n'
        f"""  <send retrans="500"><![CDATA[
INVITE sip:[field2]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field3]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:[field2]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:[field3]@[local_ip]:[local_port]>
Max-Forwards: 70
{verdicts}
Content-Length: 0

]]></send>
"""
        '  <recv response="100" optional="true"/>\n'
        '  <recv response="180" optional="true"/>\n' + fails + '  <recv response="200" rrs="true"/>\n'
        """  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field3]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause variable="hold"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[field3]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
[routes]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <nop next="end"/>
  <label id="failed"/>
  <send><![CDATA[
ACK sip:[field2]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: <sip:[field3]@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <label id="end"/>
</scenario>
"""
    )
