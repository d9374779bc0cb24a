"""What the benchmark scripts share: a free loopback port, and `aiops-trace serve` started and waited for."""
import http.client
import socket
import subprocess
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(engine, port, db, ready_within_s):
    """Starts `serve --interval 1s` on 127.0.0.1:port and returns it once /readyz answers 200.
    Raises RuntimeError (serve killed) if it exits or is not ready in time."""
    serve = subprocess.Popen([engine, "serve", "--interval", "1s", "--listen", f"127.0.0.1:{port}", "--verdict-db", db],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + ready_within_s
    while True:
        if serve.poll() is not None:
            raise RuntimeError("serve exited: " + serve.stderr.read()[-500:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return serve
        except OSError:
            pass
        if time.monotonic() > deadline:
            serve.kill()
            serve.wait()
            raise RuntimeError(f"serve was not ready within {ready_within_s} s")
        time.sleep(0.2)
