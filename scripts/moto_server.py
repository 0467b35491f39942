#!/usr/bin/env python3
"""Pinned launcher for the moto server used by ecslogfix's offline tests.

    python3 scripts/moto_server.py --port PORT [--host 127.0.0.1] [--lambda-map FILE]

It starts ``moto.server`` on HOST:PORT (loopback only by default) with
MOTO_PORT=PORT, turns on Step Functions real execution, and patches the
known moto 5.2.1 defects (see test/e2e/README.md):

  #1 aws-sdk integrations: the Step Functions service name ``cloudwatchlogs``
     is mapped to boto3's ``logs``.
  #2 aws-sdk task parameters written in Step Functions' PascalCase
     (``LogGroupName``) are renamed to the API model's member names
     (``logGroupName``), and responses are PascalCased as Step Functions does.
  #3 aws-sdk error names use the Step Functions service prefix
     (``CloudWatchLogs.ResourceAlreadyExistsException``).
  #4 the second StartExecution returned HTTP 500 ("cannot pickle
     '_thread.RLock'") because the state machine was deep-copied together
     with its backend and earlier (running) executions: the copy now leaves
     those out.
  #5 StartExecution without a name produced an ARN ending in ":None": a
     UUID name is generated, as AWS does; a given name is validated as the
     non-executing backend does (forbidden characters, 80 characters).
  #8 (found here, not in the list) EventBridge → SQS targets received the
     event without its "account" field: the default envelope is restored.
  #9 (found here) a Distributed Map's ItemReader with ReaderConfig InputType
     JSONL (one JSON value per line, which Step Functions reads since 2025)
     was refused (only CSV and JSON): JSONL is read line by line.
  #10 (found here) a rule whose target is another account's or region's
     event bus put a new event there, with that account, region, id and
     time: AWS delivers the event as it was (its source account and region),
     which is what the receiving rules see.
  #7 ``lambda:invoke`` (and plain Lambda ARNs as Task resources) went to
     moto's Docker-based Lambda: it is forwarded to a real function running
     under the Lambda Runtime Interface Emulator (RIE). The function name or
     ARN is looked up in a JSON map {name-or-arn: invoke URL}, read from
     ``--lambda-map FILE`` (re-read whenever the file changes, so functions
     can be added after the server started) and from the environment
     variable ECSLOGFIX_E2E_LAMBDA_MAP. The RIE reports a function error as
     HTTP 200 with {"errorMessage", "errorType"}; that becomes a Lambda
     function error (FunctionError "Unhandled"), so the task fails with
     Error = errorType and Retry/Catch on our error names work. The RIE
     crashes on concurrent invokes, so invokes are serialized per URL.
     An unmapped function fails the task with Lambda.ResourceNotFoundException;
     an unreachable or failing emulator with Lambda.ServiceException.
     The Lambda Invoke API (lambda.Invoke from the SDK, e.g. a function
     invoking itself with InvocationType Event) reaches mapped functions the
     same way, so every invoke of an emulator goes through one lock.

It also adds GET /moto-api/ecslogfix/sns-published: every message published
to a topic, as published (the MessageStructure=json document included).

Only moto 5.2.1 is known to work; any other version prints a warning and the
patches are applied where their hook points still exist.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

PINNED_MOTO = "5.2.1"
LAMBDA_MAP_ENV = "ECSLOGFIX_E2E_LAMBDA_MAP"
INVOKE_TIMEOUT_ENV = "ECSLOGFIX_E2E_INVOKE_TIMEOUT"  # seconds, default 120


def log(msg: str) -> None:
    print(f"moto_server.py: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Lambda forwarding (#7)
# --------------------------------------------------------------------------


class LambdaMap:
    """Function name or ARN → RIE invoke URL, from a file and the environment."""

    def __init__(self, path: str | None):
        self._path = path
        self._mtime: tuple | None = None
        self._file: dict[str, str] = {}
        self._env: dict[str, str] = self._parse(os.environ.get(LAMBDA_MAP_ENV, ""), LAMBDA_MAP_ENV)
        self._lock = threading.Lock()

    @staticmethod
    def _parse(text: str, origin: str) -> dict[str, str]:
        if not text.strip():
            return {}
        try:
            data = json.loads(text)
        except ValueError as err:
            log(f"ignoring {origin}: not JSON: {err}")
            return {}
        if not isinstance(data, dict):
            log(f"ignoring {origin}: not a JSON object")
            return {}
        out = {}
        for key, value in data.items():
            if isinstance(value, dict):
                value = value.get("url")
            if isinstance(key, str) and isinstance(value, str):
                out[key] = value
        return out

    def _current(self) -> dict[str, str]:
        with self._lock:
            if self._path:
                try:
                    st = os.stat(self._path)
                    mtime = (st.st_mtime_ns, st.st_ino, st.st_size)
                except FileNotFoundError:
                    mtime = None
                if mtime != self._mtime:
                    self._mtime = mtime
                    if mtime is None:
                        self._file = {}
                    else:
                        with open(self._path, encoding="utf-8") as f:
                            self._file = self._parse(f.read(), self._path)
            merged = dict(self._env)
            merged.update(self._file)
            return merged

    def lookup(self, function: str) -> str | None:
        """Finds the URL for a name, a full or partial ARN, with or without qualifier."""
        table = self._current()
        if function in table:
            return table[function]
        name = function
        if ":" in function:
            parts = function.split(":")
            # arn:aws:lambda:region:account:function:name[:qualifier]
            if function.startswith("arn:") and len(parts) >= 7:
                name = parts[6]
                unqualified = ":".join(parts[:7])
                if unqualified in table:
                    return table[unqualified]
            # account:function:name[:qualifier] or name:qualifier
            elif len(parts) >= 3 and parts[1] == "function":
                name = parts[2]
            else:
                name = parts[0]
        if name in table:
            return table[name]
        for key, url in table.items():
            if key.startswith("arn:") and key.split(":")[6:7] == [name]:
                return url
        return None


_url_locks: dict[str, threading.Lock] = {}
_url_locks_guard = threading.Lock()


def _lock_for(url: str) -> threading.Lock:
    with _url_locks_guard:
        lock = _url_locks.get(url)
        if lock is None:
            lock = _url_locks[url] = threading.Lock()
        return lock


def _client_error(code: str, message: str, status: int):
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": str(uuid.uuid4())},
        },
        "Invoke",
    )


def _is_function_error(payload: bytes) -> bool:
    """The RIE (and the Go runtime) report a function error as this shape."""
    try:
        doc = json.loads(payload)
    except ValueError:
        return False
    return (
        isinstance(doc, dict)
        and isinstance(doc.get("errorType"), str)
        and isinstance(doc.get("errorMessage"), str)
        and set(doc) <= {"errorType", "errorMessage", "stackTrace", "cause"}
    )


def make_invoker(lambda_map: LambdaMap, timeout: float):
    def invoke(parameters: dict) -> tuple[str | None, bytes]:
        """POSTs the payload to the function's RIE; returns (FunctionError, payload)."""
        function = str(parameters.get("FunctionName", ""))
        url = lambda_map.lookup(function)
        if url is None:
            raise _client_error(
                "ResourceNotFoundException",
                f"Function not found: {function} (not in the ecslogfix e2e Lambda map)",
                404,
            )
        payload = parameters.get("Payload")
        if payload is None:
            payload = b"{}"
        elif isinstance(payload, str):
            payload = payload.encode("utf-8")
        request = urllib.request.Request(
            url, data=payload, method="POST", headers={"Content-Type": "application/json"}
        )
        with _lock_for(url):
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    status = response.status
                    body = response.read()
                    header_error = response.headers.get("X-Amz-Function-Error")
            except urllib.error.HTTPError as err:
                body = err.read()
                raise _client_error(
                    "ServiceException",
                    f"runtime interface emulator at {url} answered HTTP {err.code}: {body[:500]!r}",
                    500,
                ) from None
            except (urllib.error.URLError, OSError) as err:
                raise _client_error(
                    "ServiceException", f"runtime interface emulator at {url}: {err}", 500
                ) from None
        log(f"invoke {function} → {url}: HTTP {status} in {(time.monotonic() - started) * 1000:.0f} ms")
        if status != 200:
            raise _client_error(
                "ServiceException",
                f"runtime interface emulator at {url} answered HTTP {status}",
                500,
            )
        if header_error or _is_function_error(body):
            return header_error or "Unhandled", body
        return None, body

    return invoke


def patch_lambda(invoke) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils as leu

    def _invoke_lambda_function(parameters: dict, region: str, state_credentials):
        function_error, body = invoke(parameters)
        response = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
        if function_error:
            response["FunctionError"] = function_error
        response["Payload"] = leu._from_payload(io.BytesIO(body))
        return response

    def exec_lambda_function(env, parameters: dict, region: str, account: str, credentials):
        function_error, body = invoke(parameters)
        if function_error:
            payload_json = json.loads(body)
            raise leu.LambdaFunctionErrorException(
                function_error, json.dumps(payload_json, separators=(",", ":"))
            )
        env.stack.append(
            {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.loads(body or b"null")}
        )

    leu._invoke_lambda_function = _invoke_lambda_function
    leu.exec_lambda_function = exec_lambda_function


def patch_lambda_api(lambda_map: LambdaMap, invoke) -> None:
    """The Lambda Invoke API (what the SDK's lambda.Invoke calls) reaches a
    mapped function too: RequestResponse answers with its payload (and
    X-Amz-Function-Error), Event returns 202 and invokes in the background
    (after any invoke in progress: invokes are serialized per emulator),
    DryRun returns 204. Unmapped functions keep moto's behaviour."""
    from urllib.parse import unquote

    from botocore.exceptions import ClientError
    from moto.awslambda import responses

    original = responses.LambdaResponse.invoke

    def background(parameters: dict) -> None:
        try:
            invoke(parameters)
        except Exception as err:  # nobody waits for an Event invoke
            log(f"event invoke of {parameters.get('FunctionName')} failed: {err}")

    def invoke_api(self):
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        if lambda_map.lookup(function_name) is None:
            return original(self)
        body = self.body if isinstance(self.body, bytes) else (self.body or "").encode("utf-8")
        parameters = {"FunctionName": function_name, "Payload": body or b"{}"}
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if kind == "DryRun":
            return 204, {"status": "204"}, ""
        if kind == "Event":
            threading.Thread(target=background, args=(parameters,), daemon=True).start()
            return 202, {"status": "202"}, ""
        try:
            function_error, payload = invoke(parameters)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            status = 404 if code == "ResourceNotFoundException" else 500
            doc = json.dumps({"Type": "Service", "message": err.response["Error"]["Message"]})
            return status, {"x-amzn-ErrorType": code, "content-type": "application/json"}, doc
        headers = {"content-type": "application/json", "X-Amz-Executed-Version": "$LATEST"}
        if function_error:
            headers["X-Amz-Function-Error"] = function_error
        return 200, headers, payload

    responses.LambdaResponse.invoke = invoke_api


# --------------------------------------------------------------------------
# StartExecution (#4, #5)
# --------------------------------------------------------------------------


def patch_state_machine_copy() -> None:
    from moto.stepfunctions import models

    shared = {"backend", "versions", "aliases", "latest_version"}

    def __deepcopy__(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key == "executions":
                clone.__dict__[key] = []
            elif key in shared:
                clone.__dict__[key] = value
            else:
                clone.__dict__[key] = copy.deepcopy(value, memo)
        return clone

    models.StateMachineInstance.__deepcopy__ = __deepcopy__


def patch_execution_name() -> None:
    from moto.stepfunctions.parser import models as parser_models

    original = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if name:
            # The executing backend skips the name check the plain one does:
            # restore it (forbidden characters, at most 80 characters).
            self._validate_name(name)
        else:
            name = str(uuid.uuid4())
        return original(self, state_machine_arn, name, execution_input, trace_header)

    parser_models.StepFunctionsParserBackend.start_execution = start_execution


# --------------------------------------------------------------------------
# aws-sdk integrations (#1, #2, #3)
# --------------------------------------------------------------------------

# Step Functions service names whose boto3 name differs.
SFN_TO_BOTO = {"cloudwatchlogs": "logs"}
# Step Functions' error prefixes (lower-case service name → prefix).
SFN_ERROR_NAMES = {"cloudwatchlogs": "CloudWatchLogs", "ecs": "Ecs", "sns": "Sns", "sts": "Sts"}


def patch_aws_sdk() -> None:
    import botocore.session

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service,
        state_task_service_aws_sdk as sdk,
    )

    overrides = state_task_service.StateTaskService._SERVICE_NAME_SFN_TO_BOTO_OVERRIDES
    overrides.update(SFN_TO_BOTO)  # a Final dict, but a plain dict at run time
    sdk._SERVICE_ERROR_NAMES.update({k.lower(): v for k, v in SFN_ERROR_NAMES.items()})

    session = botocore.session.get_session()
    models_cache: dict[str, object] = {}
    models_lock = threading.Lock()

    def operation_model(task):
        service = task._get_boto_service_name()
        action = task.resource.api_action
        with models_lock:
            model = models_cache.get(service)
            if model is None:
                model = models_cache[service] = session.get_service_model(service)
        name = action[:1].upper() + action[1:]
        return model.operation_model(name)

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        try:
            shape = operation_model(self).input_shape
        except Exception as err:  # unknown service or action: leave as written
            log(f"aws-sdk parameters not normalised for {self.resource.resource_arn}: {err}")
            return
        if shape is not None:
            self._to_boto_request(parameters, shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        try:
            shape = operation_model(self).output_shape
        except Exception:
            return
        if shape is not None:
            self._from_boto_response(response, shape)

    sdk.StateTaskServiceAwsSdk._normalise_parameters = _normalise_parameters
    sdk.StateTaskServiceAwsSdk._normalise_response = _normalise_response

    # The error prefix is computed from resource.api_name (the SFN service
    # name), so "cloudwatchlogs" now maps to "CloudWatchLogs".


# --------------------------------------------------------------------------


def patch_event_envelope() -> None:
    """#8: EventBridge targets without an InputTransformer got an event
    without "account" (moto's default template leaves it out); AWS delivers
    the whole envelope."""
    from moto.events import utils

    utils.EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = (
        '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", "source": "<source>", '
        '"account": "<account>", "time": <time>, "region": "<region>", "resources": <resources>, '
        '"detail": <detail>}'
    )


def patch_event_bus_targets() -> None:
    """#10: an event-bus target receives the event itself."""
    from moto.events import models

    original = models.Rule.send_to_targets
    lock = threading.Lock()

    def send_to_targets(self, original_event, transform_input=True):
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


def enable_execution() -> None:
    from moto.core.config import default_user_config

    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    # Without Docker moto's own Lambda can only echo; keep it from trying Docker.
    default_user_config.setdefault("lambda", {})["use_docker"] = False


def patch_config_report(version: str) -> None:
    """GET /moto-api/config also reports Step Functions execution and this
    launcher, so a client can tell it talks to a patched server."""
    from moto.core.config import default_user_config
    from moto.moto_api._internal import models

    original = models.MotoAPIBackend.get_config

    def get_config(self):
        config = original(self)
        config["stepfunctions"] = default_user_config.get("stepfunctions", {})
        config["ecslogfix"] = {"launcher": "scripts/moto_server.py", "moto": version, "pinned": PINNED_MOTO}
        return config

    models.MotoAPIBackend.get_config = get_config


def add_published_endpoint() -> None:
    """GET /moto-api/ecslogfix/sns-published lists every message published
    to any topic as sent (the whole MessageStructure=json document, so a
    test can read the "email" text an SQS subscriber never receives)."""
    from moto.moto_api._internal import urls

    def published(request, full_url, headers):
        from moto.sns import sns_backends

        out = []
        for account_id, regions in sns_backends.items():
            for region, backend in regions.items():
                for arn, topic in backend.topics.items():
                    for message_id, message, subject, attributes, group_id in topic.sent_notifications:
                        out.append({
                            "topicArn": arn,
                            "messageId": message_id,
                            "message": message,
                            "subject": subject,
                            "messageAttributes": attributes or {},
                        })
        return 200, {"Content-Type": "application/json"}, json.dumps(out, default=str).encode("utf-8")

    urls.url_paths["{0}/moto-api/ecslogfix/sns-published"] = published


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lambda-map", default=None, help="JSON file {function name or ARN: RIE invoke URL}")
    args = parser.parse_args(argv)

    # The Step Functions interpreter's own boto3 clients call
    # http://localhost:$MOTO_PORT: it must be this server.
    os.environ["MOTO_PORT"] = str(args.port)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    import moto

    version = getattr(moto, "__version__", "unknown")
    if version != PINNED_MOTO:
        log(f"WARNING: moto {version} found, this launcher is pinned to moto {PINNED_MOTO}; patches may not apply")

    enable_execution()
    patch_config_report(version)
    add_published_endpoint()
    patch_state_machine_copy()
    patch_event_envelope()
    patch_execution_name()
    patch_jsonl_item_reader()
    patch_event_bus_targets()
    timeout = float(os.environ.get(INVOKE_TIMEOUT_ENV, "120"))
    lambda_map = LambdaMap(args.lambda_map)
    invoker = make_invoker(lambda_map, timeout)
    patch_lambda(invoker)
    patch_lambda_api(lambda_map, invoker)
    try:
        patch_aws_sdk()
    except Exception as err:  # optional: we do not rely on aws-sdk integrations
        log(f"aws-sdk integration patches not applied: {err}")

    from moto import server

    log(f"moto {version} on http://{args.host}:{args.port} (Step Functions execution on)")
    server.main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
