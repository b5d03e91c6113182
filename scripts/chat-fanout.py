#!/usr/bin/env python3
"""Chat fan-out: N WebSocket clients on /message, one of them sends M messages;
prints how many deliveries per second reached the clients (N x M in all).
Usage: chat-fanout.py PORT [CLIENTS=100] [MESSAGES=200]"""
import base64, json, os, socket, struct, sys, threading, time

port = int(sys.argv[1]); clients = int(sys.argv[2]) if len(sys.argv) > 2 else 100
messages = int(sys.argv[3]) if len(sys.argv) > 3 else 200

def connect(name):
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /message HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nCookie: pulse_user={name}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head: head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s

def frames(s):
    buf = b""
    while True:
        while len(buf) < 2: buf += s.recv(65536)
        n = buf[1] & 0x7F; off = 2
        if n == 126:
            while len(buf) < 4: buf += s.recv(65536)
            n = struct.unpack(">H", buf[2:4])[0]; off = 4
        elif n == 127:
            while len(buf) < 10: buf += s.recv(65536)
            n = struct.unpack(">Q", buf[2:10])[0]; off = 10
        while len(buf) < off + n: buf += s.recv(65536)
        op, payload, buf = buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
        if op == 0x9:  # answer pings
            s.sendall(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            continue
        yield op, payload

def send_text(s, text):
    data = text.encode(); mask = os.urandom(4)
    header = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + struct.pack(">H", len(data)))
    s.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

sockets = [connect(f"bench{i}") for i in range(clients)]
ready = threading.Barrier(clients + 1); done = []
lock = threading.Lock()

def reader(s):
    it = frames(s); received = 0
    for op, payload in it:  # skip history and roster until the roster arrives
        if op == 1 and b'"users"' in payload: break
    ready.wait()
    for op, payload in it:
        if op == 1 and b'"webchat"' in payload and b"fanout-" in payload:
            received += 1
            if received == messages: break
    with lock: done.append(time.time())

threads = [threading.Thread(target=reader, args=(s,), daemon=True) for s in sockets]
for t in threads: t.start()
ready.wait()
start = time.time()
for i in range(messages): send_text(sockets[0], f"fanout-{i}")
for t in threads: t.join(120)
elapsed = max(done) - start if len(done) == clients else float("nan")
print(f"{clients} clients x {messages} messages: {clients * messages} deliveries in {elapsed:.2f}s = "
      f"{clients * messages / elapsed:,.0f} deliveries/s ({len(done)}/{clients} clients got everything)")
