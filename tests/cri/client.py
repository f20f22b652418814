#!/usr/bin/python3
"""A minimal CRI v1 client for tests/cri.rs (what crictl does, by method).

    client.py GEN_DIR SOCKET METHOD [REQUEST_JSON]

METHOD is a RuntimeService method (RunPodSandbox, ExecSync, ...). The
request is the method's message as JSON (proto field names); the response
is printed the same way, with default values included (bytes fields are
base64). A gRPC error prints "CODE: details" on stderr and exits 1.

api.proto (beside this file: the subset of CRI v1 the test uses) is
compiled into GEN_DIR on first use, with Debian's python3-grpc-tools;
python3-grpcio runs the calls.
"""

import json
import os
import sys


def load(gen):
    if not os.path.exists(os.path.join(gen, "api_pb2_grpc.py")):
        from grpc_tools import protoc

        here = os.path.dirname(os.path.abspath(__file__))
        os.makedirs(gen, exist_ok=True)
        rc = protoc.main(["protoc", "-I", here, "--python_out=" + gen,
                          "--grpc_python_out=" + gen,
                          os.path.join(here, "api.proto")])
        if rc != 0:
            sys.exit("client.py: protoc failed on api.proto")
    sys.path.insert(0, gen)
    import api_pb2
    import api_pb2_grpc

    return api_pb2, api_pb2_grpc


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    gen, sock, method = sys.argv[1:4]
    request = json.loads(sys.argv[4]) if len(sys.argv) == 5 else {}
    pb, pb_grpc = load(gen)

    import grpc
    from google.protobuf import json_format

    service = pb.DESCRIPTOR.services_by_name["RuntimeService"]
    descriptor = service.methods_by_name[method]
    req = json_format.ParseDict(request, getattr(pb, descriptor.input_type.name)())
    with grpc.insecure_channel("unix://" + sock) as channel:
        stub = pb_grpc.RuntimeServiceStub(channel)
        try:
            resp = getattr(stub, method)(req, timeout=60)
        except grpc.RpcError as e:
            print(f"{e.code().name}: {e.details()}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps(json_format.MessageToDict(
        resp, preserving_proto_field_name=True,
        including_default_value_fields=True)))


if __name__ == "__main__":
    main()
