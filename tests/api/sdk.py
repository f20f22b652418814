"""The Python docker SDK (PyPI `docker`) against rdock's API service:
its containers, images, networks and volumes collections, streaming
logs, exec_run, put/get_archive and build. Run by tests/api_clients.rs
with DOCKER_HOST set; prints "SDK OK" at the end."""

import io
import tarfile
import time

import docker

c = docker.from_env(version="auto")
assert c.ping()
assert c.version()["ApiVersion"] == "1.50", c.version()

# containers: a foreground run, a detached one, listing with filters.
assert c.containers.run("busybox", ["echo", "hi"], remove=True) == b"hi\n"
ctr = c.containers.run(
    "busybox",
    ["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.1; done; exec sleep 300"],
    detach=True,
    name="sdk1",
    labels={"suite": "sdk"},
)
got = b""
deadline = time.time() + 20
for chunk in ctr.logs(stream=True, follow=True):
    got += chunk
    if got.count(b"\n") >= 3 or time.time() > deadline:
        break
assert got == b"line1\nline2\nline3\n", got
ctr.reload()
assert ctr.status == "running", ctr.status
assert [x.id for x in c.containers.list(filters={"label": "suite=sdk"})] == [ctr.id]
assert ctr.name == "sdk1"

# exec_run: status and output.
res = ctr.exec_run(["sh", "-c", "echo out; exit 3"])
assert res.exit_code == 3 and res.output == b"out\n", res

# put_archive / get_archive.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"through the archive endpoint\n"
    info = tarfile.TarInfo("a.txt")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
assert ctr.put_archive("/tmp", buf.getvalue())
bits, stat = ctr.get_archive("/tmp/a.txt")
assert stat["name"] == "a.txt" and stat["size"] == len(data), stat
with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as t:
    assert t.extractfile("a.txt").read() == data
res = ctr.exec_run(["cat", "/tmp/a.txt"])
assert res.output == data, res

# build, then run what it made.
img, logs = c.images.build(
    fileobj=io.BytesIO(b"FROM busybox\nRUN echo built > /b\nCMD [\"cat\", \"/b\"]\n"),
    tag="sdk-built:1",
    rm=True,
)
assert "sdk-built:1" in img.tags, img.tags
assert any("Successfully built" in l.get("stream", "") for l in logs)
assert c.containers.run("sdk-built:1", remove=True) == b"built\n"
assert "sdk-built:1" in [t for i in c.images.list() for t in i.tags]

# networks and volumes.
net = c.networks.create("sdknet", driver="bridge")
vol = c.volumes.create("sdkvol")
c2 = c.containers.run(
    "busybox",
    ["sh", "-c", "echo kept > /data/f; exec sleep 300"],
    detach=True,
    name="sdk2",
    network="sdknet",
    volumes={"sdkvol": {"bind": "/data", "mode": "rw"}},
)
net.reload()
assert c2.id in [x.id for x in net.containers], net.attrs
assert c.volumes.get("sdkvol").name == "sdkvol"
out = c.containers.run("busybox", ["cat", "/data/f"], remove=True,
                       volumes={"sdkvol": {"bind": "/data", "mode": "ro"}})
deadline = time.time() + 10
while out != b"kept\n" and time.time() < deadline:
    time.sleep(0.1)
    out = c.containers.run("busybox", ["cat", "/data/f"], remove=True,
                           volumes={"sdkvol": {"bind": "/data", "mode": "ro"}})
assert out == b"kept\n", out

# cleanup, through the API too.
c2.remove(force=True)
net.remove()
vol.remove()
ctr.stop(timeout=0)
assert ctr.wait()["StatusCode"] == 137
ctr.remove()
c.images.remove("sdk-built:1")
assert c.containers.list(all=True) == []
print("SDK OK")
