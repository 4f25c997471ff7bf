"""Echo client for the hub's permessage-deflate interop test.

Usage: deflate_client.py URL MODE N

Connects with Python's websockets library, negotiating permessage-deflate as
MODE says (default: the library's own offer; windows: small windows both
ways; no-takeover: no context takeover either way), sends N similar JSON
messages one at a time, checks each echo and prints one JSON line: the
server's answer and what the library negotiated, or an error.
"""

import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

FACTORIES = {
    "default": None,
    "windows": ClientPerMessageDeflateFactory(
        server_max_window_bits=10, client_max_window_bits=11
    ),
    "no-takeover": ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True
    ),
}


def message(i):
    return json.dumps(
        {
            "type": "quote",
            "symbol": "ACME",
            "seq": i,
            "bid": 100 + i % 7 + (i % 100) / 100,
            "venue": "XNAS",
            "flags": ["regular", "open"],
            "trader": {"id": 4000 + i % 3, "desk": "equities-emea"},
            "note": "market data update for the instrument, see the reference data service",
        }
    )


async def main(url, mode, n):
    factory = FACTORIES[mode]
    kwargs = {"extensions": [factory]} if factory else {}
    async with websockets.connect(url, **kwargs) as ws:
        for i in range(n):
            sent = message(i)
            await ws.send(sent)
            got = await asyncio.wait_for(ws.recv(), 10)
            if got != sent:
                print(json.dumps({"error": f"echo {i}: got {got!r}"}))
                return 1
        negotiated = [
            {
                "name": e.name,
                "server_takeover": not e.remote_no_context_takeover,
                "client_takeover": not e.local_no_context_takeover,
                "server_bits": e.remote_max_window_bits,
                "client_bits": e.local_max_window_bits,
            }
            for e in ws.extensions
        ]
        print(json.dumps({"answer": ws.response_headers.get("Sec-WebSocket-Extensions"), "negotiated": negotiated}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
