#!/usr/bin/python3
"""test-smtp.py — a loopback SMTP server for leadpath's tests (Debian python3-aiosmtpd).

Usage: test-smtp.py DIR [PORT]
Listens on 127.0.0.1:PORT (0 or none: a free port), prints "PORT <n>" on stdout once it accepts
connections, and writes every message it accepts to DIR as NNNNNN.eml (the bytes as received)
with NNNNNN.json beside it ({"mail_from", "rcpt_tos", "size"}); the .json appears last, so a
test that sees it can read both. Recipients whose local part starts with "reject" are refused
with 550 5.1.1, and with "tempfail" with 451 4.3.0, so delivery failures can be tested.
Stops cleanly on SIGTERM or SIGINT.
"""
import asyncio
import json
import os
import signal
import sys

from aiosmtpd.smtp import SMTP


class Store:
    """The aiosmtpd handler: refuses the test addresses, writes each message to the directory."""

    def __init__(self, directory):
        self.dir = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("tempfail"):
            return "451 4.3.0 <%s>: Temporary failure, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.dir, "%06d" % self.count)
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(data)
        os.rename(base + ".eml.tmp", base + ".eml")
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "size": len(data)}
        with open(base + ".json.tmp", "w") as f:
            json.dump(meta, f)
        os.rename(base + ".json.tmp", base + ".json")
        return "250 2.0.0 Ok: queued as %06d" % self.count


async def main():
    directory = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(directory, exist_ok=True)
    handler = Store(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="smtp.test", decode_data=False, enable_SMTPUTF8=True,
                     data_size_limit=32 * 1024 * 1024),
        host="127.0.0.1", port=port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
