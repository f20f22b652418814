"""testcontainers-python against rdock's API service: start a container,
wait for a log line, read a mapped port, stop. Prints "TC OK"."""

import urllib.request

from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

cmd = "sh -c 'mkdir /www && echo hello-tc > /www/index.html && echo ready && exec httpd -f -p 8080 -h /www'"
tc = (
    DockerContainer("busybox")
    .with_command(cmd)
    .with_exposed_ports(8080)
    .waiting_for(LogMessageWaitStrategy("ready"))
)
with tc as c:
    host = c.get_container_host_ip()
    port = c.get_exposed_port(8080)
    body = urllib.request.urlopen(f"http://{host}:{port}/", timeout=10).read()
    assert body == b"hello-tc\n", body
print("TC OK")
