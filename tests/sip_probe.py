"""A SIP REGISTER with digest authentication, run inside a lab site with python3: the registrar's answer code.

Used to prove the lab registrar checks passwords: the right one gets 200, a
wrong one gets 401 or 403 again.
"""

from __future__ import annotations

SCRIPT = r"""
import hashlib, random, re, socket, sys

registrar, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(5)
sock.connect((registrar, port))
local = sock.getsockname()[0]
lport = sock.getsockname()[1]
call_id = "%x@probe" % random.getrandbits(64)
tag = "%x" % random.getrandbits(32)


def register(cseq, auth=""):
    branch = "z9hG4bK%x" % random.getrandbits(48)
    msg = (
        f"REGISTER sip:{registrar} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local}:{lport};branch={branch};rport\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:{user}@{registrar}>;tag={tag}\r\n"
        f"To: <sip:{user}@{registrar}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:{user}@{local}:{lport}>\r\n"
        f"Expires: 60\r\n{auth}"
        f"Content-Length: 0\r\n\r\n"
    )
    sock.send(msg.encode())
    reply = sock.recv(65535).decode(errors="replace")
    return int(reply.split(" ", 2)[1]), reply


code, reply = register(1)
if code != 401:
    print(code)
    sys.exit(0)
realm = re.search(r'realm="([^"]+)"', reply).group(1)
nonce = re.search(r'nonce="([^"]+)"', reply).group(1)
uri = f"sip:{registrar}"
ha1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
auth = (
    f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
    f'response="{response}", algorithm=MD5\r\n'
)
code, _ = register(2, auth)
print(code)
"""
