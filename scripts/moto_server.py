#!/usr/bin/env python3
"""Pinned launcher for the moto server of ecslogfix's offline tests (test/localaws starts it).

    python3 scripts/moto_server.py --port PORT [--execute-state-machines]

It runs moto.server on 127.0.0.1:PORT (loopback only) with MOTO_PORT=PORT (the Step Functions
interpreter calls its own server there) and patches only the moto 5.2.1 defects that the product's
own state machines and rules meet, numbered as in test/e2e/README.md (which says what each fixes
and what is left unpatched). POST /moto-api/ecslogfix/lambda-map {"name or ARN": "invoke URL"}
says where lambda:invoke Tasks go; GET /moto-api/ecslogfix reports moto's version (the readiness
check). Another moto version prints a warning.
"""

import argparse
import copy
import io
import json
import os
import sys
import threading
import urllib.error
import urllib.request

PINNED_MOTO = "5.2.1"
INVOKE_TIMEOUT = 900  # seconds: Lambda's longest function timeout
JSON = {"Content-Type": "application/json"}

functions: dict[str, str] = {}  # function name or ARN → invoke URL (POST /moto-api/ecslogfix/lambda-map)


def patch_events() -> None:
    from moto.events import models, utils

    utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (  # 8
        '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
        '"detail": <detail>}'
    )
    original = models.Rule.send_to_targets
    lock = threading.Lock()

    def send_to_targets(self, original_event, transform_input=True):  # 10: a target bus gets the event itself
        if not self.event_pattern.matches_event(original_event):
            return
        buses = [t for t in self.targets if ":event-bus/" in t["Arn"]]
        others = [t for t in self.targets if ":event-bus/" not in t["Arn"]]
        for target in buses:
            arn = models.parse_arn(target["Arn"])
            bus = models.events_backends[arn.account][arn.region].describe_event_bus(arn.resource_id)
            for rule in list(bus.rules.values()):
                rule.send_to_targets(copy.deepcopy(original_event))
        if others:
            with lock:  # the rule's own targets, one delivery at a time
                kept = self.targets
                self.targets = others
                try:
                    original(self, original_event, transform_input)
                finally:
                    self.targets = kept

    models.Rule.send_to_targets = send_to_targets


def patch_jsonl_item_reader() -> None:
    """#9: InputType JSONL for a Distributed Map's ItemReader."""
    import enum

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader import item_reader_decl
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_output_transformer import (
        transformer_factory,
        transformer_json,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.reader_config import input_type

    values = {v.name: v.value for v in input_type.InputTypeValue}
    values["JSONL"] = "JSONL"
    extended = enum.Enum("InputTypeValue", values)
    input_type.InputTypeValue = extended  # what InputType() validates against
    transformer_factory.InputTypeValue = extended

    class ResourceOutputTransformerJsonl(transformer_json.ResourceOutputTransformerJson):
        def _eval_body(self, env) -> None:
            reader_config = env.stack.pop()
            resource_value = env.stack.pop()
            items = [json.loads(line) for line in resource_value.splitlines() if line.strip()]
            env.stack.append(items[: reader_config["MaxItemsValue"]])

    original = transformer_factory.resource_output_transformer_for

    def resource_output_transformer_for(input_type):
        if input_type.input_type_value == extended.JSONL:
            return ResourceOutputTransformerJsonl()
        return original(input_type)

    item_reader_decl.resource_output_transformer_for = resource_output_transformer_for


def patch_step_functions() -> None:
    from botocore.exceptions import ClientError
    from moto.stepfunctions import models
    from moto.stepfunctions.parser import models as parser_models
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils as leu

    def fail(status: int, code: str, message: str) -> ClientError:
        meta = {"HTTPStatusCode": status, "RequestId": ""}
        return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": meta}, "Invoke")

    def invoke_task(parameters, region, state_credentials):  # 7
        function = str(parameters.get("FunctionName", ""))
        parts = function.split(":")  # a name, or an ARN with or without a qualifier
        url = functions.get(function) or functions.get(":".join(parts[:7])) or functions.get(parts[6] if len(parts) > 6 else "")
        if url is None:  # as AWS answers for a function that does not exist
            raise fail(404, "ResourceNotFoundException", f"Function not found: {function}")
        request = urllib.request.Request(url, data=parameters.get("Payload") or b"{}", method="POST", headers=JSON)
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT) as response:
                body = response.read()
        except (urllib.error.URLError, OSError) as err:
            raise fail(500, "ServiceException", f"{function} at {url}: {err}")
        out = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": leu._from_payload(io.BytesIO(body))}
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        # The emulator answers a function error with HTTP 200 and this document only; Lambda adds
        # FunctionError, so that Retry and Catch see the error's type.
        if isinstance(doc, dict) and {"errorType", "errorMessage"} <= set(doc) <= {"errorType", "errorMessage", "stackTrace", "cause"}:
            out["FunctionError"] = "Unhandled"
        return out

    leu._invoke_lambda_function = invoke_task

    shared = {"backend", "versions", "aliases", "latest_version"}

    def __deepcopy__(self, memo):  # 4
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            clone.__dict__[key] = [] if key == "executions" else value if key in shared else copy.deepcopy(value, memo)
        return clone

    models.StateMachineInstance.__deepcopy__ = __deepcopy__
    start = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):  # 5
        if name:
            self._validate_name(name)
        return start(self, state_machine_arn, name, execution_input, trace_header)

    parser_models.StepFunctionsParserBackend.start_execution = start_execution


def add_endpoints(version: str) -> None:
    from moto.moto_api._internal import urls

    def launcher(request, full_url, headers):
        return 200, JSON, json.dumps({"moto": version})

    def lambda_map(request, full_url, headers):
        mapping = json.loads(request.get_data() or b"{}")
        functions.update({k: v for k, v in mapping.items() if isinstance(k, str) and isinstance(v, str)})
        return 200, JSON, json.dumps(functions)

    urls.url_paths["{0}/moto-api/ecslogfix$"] = launcher
    urls.url_paths["{0}/moto-api/ecslogfix/lambda-map$"] = lambda_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--execute-state-machines", action="store_true", help="run state machines (moto's interpreter)")
    args = parser.parse_args()
    os.environ["MOTO_PORT"] = str(args.port)

    import moto
    from moto import server
    from moto.core.config import default_user_config

    version = getattr(moto, "__version__", "unknown")
    if version != PINNED_MOTO:
        print(f"moto_server.py: WARNING: moto {version} found, this launcher is pinned to {PINNED_MOTO}", file=sys.stderr)
    default_user_config["stepfunctions"] = {"execute_state_machine": args.execute_state_machines}
    add_endpoints(version)
    patch_events()
    if args.execute_state_machines:  # importing the interpreter takes a second: only when it runs
        patch_step_functions()
        patch_jsonl_item_reader()
    print(f"moto_server.py: moto {version} on 127.0.0.1:{args.port}, executing state machines: {args.execute_state_machines}", file=sys.stderr)
    server.main(["-H", "127.0.0.1", "-p", str(args.port)])


if __name__ == "__main__":
    main()
