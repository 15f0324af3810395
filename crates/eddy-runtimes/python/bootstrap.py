"""eddy's Lambda Runtime API client for Python functions (runtimes python3.9 to python3.13).

eddy starts `python bootstrap.py` with the environment Lambda gives a function
(`AWS_LAMBDA_RUNTIME_API`, `_HANDLER`, `LAMBDA_TASK_ROOT`, `AWS_LAMBDA_FUNCTION_NAME`, ...).
The script imports the handler named by `_HANDLER`, reports a failure to do so the way
Lambda's Python runtime does (`Runtime.ImportModuleError`, `Runtime.HandlerNotFound`,
`Runtime.UserCodeSyntaxError`, ...), then forever asks for the next event, calls the
handler with the event and a context object, and posts the result or the error.

Only the standard library is used, so nothing has to be installed with pip. It runs on
Python 3.9 and newer.
"""

import decimal
import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
THIS_FILE = os.path.abspath(__file__)

# Printed on stdout and stderr after the handler returns, before its result is posted:
# once eddy has read both, it has read everything the invocation printed (the mark
# itself is not logged).
INVOCATION_END_MARK = "\x1feddy-invocation-end "


def mark_invocation_end(request_id):
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.write("%s%s\n" % (INVOCATION_END_MARK, request_id))
            stream.flush()
        except (OSError, ValueError):
            pass

# The request being handled, for the log lines written while handling it.
current_request_id = ""


class FunctionError(Exception):
    """A failure the runtime reports under one of Lambda's own error types."""

    def __init__(self, error_type, message, stack_trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


def error_document(error_type, message, stack_trace, request_id=""):
    """The JSON document Lambda's Python runtime posts for an error."""
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack_trace or [],
    }


def user_stack_trace(tb):
    """The formatted frames of a traceback, starting at the first frame of user code."""
    frames = traceback.extract_tb(tb)
    for index, frame in enumerate(frames):
        if os.path.abspath(frame.filename) != THIS_FILE:
            return traceback.format_list(frames[index:])
    return traceback.format_list(frames)


def document_for_exception(exc_info, request_id=""):
    error_type, value, tb = exc_info
    return error_document(error_type.__name__, str(value), user_stack_trace(tb), request_id)


class RuntimeApi:
    """The Lambda Runtime API at `AWS_LAMBDA_RUNTIME_API` (host:port), over one
    keep-alive connection (opened again when the server closed it)."""

    def __init__(self, address):
        self.address = address
        self.connection = None

    def _call(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.address)
            try:
                self.connection.request(method, API_PREFIX + path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                answer = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept connection the server had closed: once more on a new one.
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self.connection.close()
                self.connection = None
            return response, answer

    def next_invocation(self):
        response, body = self._call("GET", "/invocation/next")
        if response.status != 200:
            raise RuntimeError(
                "the Runtime API answered %d to invocation/next: %r" % (response.status, body)
            )
        return Invocation(response, body)

    def _post(self, path, body, headers):
        response, answer = self._call("POST", path, body, headers)
        if response.status != 202:
            # The invocation is no longer waiting (it timed out, for example): say so and
            # carry on with the next one.
            sys.stderr.write(
                "the Runtime API answered %d to %s: %s\n"
                % (response.status, path, answer.decode("utf-8", "replace"))
            )

    def post_response(self, request_id, body, content_type):
        self._post(
            "/invocation/%s/response" % request_id, body, {"Content-Type": content_type}
        )

    def post_error(self, request_id, document):
        self._post("/invocation/%s/error" % request_id, *error_request(document))

    def post_init_error(self, document):
        self._post("/init/error", *error_request(document))


def error_request(document):
    body = json.dumps(document).encode("utf-8")
    headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: document["errorType"]}
    return body, headers


class Invocation:
    """One event handed out by `invocation/next`, with the headers that describe it."""

    def __init__(self, response, body):
        self.request_id = response.getheader("Lambda-Runtime-Aws-Request-Id", "")
        self.deadline_ms = response.getheader("Lambda-Runtime-Deadline-Ms", "0")
        self.function_arn = response.getheader("Lambda-Runtime-Invoked-Function-Arn")
        self.trace_id = response.getheader("Lambda-Runtime-Trace-Id")
        self.client_context = response.getheader("Lambda-Runtime-Client-Context")
        self.cognito_identity = response.getheader("Lambda-Runtime-Cognito-Identity")
        self.tenant_id = response.getheader("Lambda-Runtime-Aws-Tenant-Id")
        self.content_type = response.getheader("Content-Type")
        self.body = body


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, document):
        self.cognito_identity_id = document.get("cognitoIdentityId")
        self.cognito_identity_pool_id = document.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id,
            self.cognito_identity_pool_id,
        )


class Client:
    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, document):
        for name in self.__slots__:
            setattr(self, name, document.get(name))


class ClientContext:
    __slots__ = ("custom", "env", "client")

    def __init__(self, document):
        self.custom = document.get("custom")
        self.env = document.get("env")
        client = document.get("client")
        self.client = None if client is None else Client(client)


def parse_header_json(value, name):
    try:
        return json.loads(value)
    except Exception as error:
        raise FunctionError(
            "Runtime.LambdaContextUnmarshalError",
            "Unable to parse %s JSON: %s" % (name, error),
        )


class LambdaContext:
    """The `context` argument of a handler, with the attributes Lambda's context has."""

    def __init__(self, invocation):
        self.aws_request_id = invocation.request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invocation.function_arn
        self.tenant_id = invocation.tenant_id
        identity = {}
        if invocation.cognito_identity:
            identity = parse_header_json(invocation.cognito_identity, "Cognito Identity")
        self.identity = CognitoIdentity(identity)
        self.client_context = None
        if invocation.client_context:
            document = parse_header_json(invocation.client_context, "Client Context")
            self.client_context = ClientContext(document)
        try:
            self._deadline_ms = int(invocation.deadline_ms)
        except ValueError:
            self._deadline_ms = 0

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        fields = (
            "aws_request_id",
            "log_group_name",
            "log_stream_name",
            "function_name",
            "memory_limit_in_mb",
            "function_version",
            "invoked_function_arn",
            "client_context",
            "identity",
            "tenant_id",
        )
        inner = ",".join("%s=%s" % (name, getattr(self, name)) for name in fields)
        return "LambdaContext([%s])" % inner


class ResponseEncoder(json.JSONEncoder):
    """JSON as Lambda's Python runtime writes it; `Decimal` (as boto3 returns for
    DynamoDB numbers) becomes a JSON number."""

    def default(self, value):
        if isinstance(value, decimal.Decimal):
            if not value.is_finite():
                return float(value)
            if value == value.to_integral_value():
                return int(value)
            return float(value)
        return super().default(value)


def runtime_minor_version():
    """The `X` of `AWS_Lambda_python3.X`, or 0."""
    execution_env = os.environ.get("AWS_EXECUTION_ENV", "")
    prefix = "AWS_Lambda_python3."
    if execution_env.startswith(prefix) and execution_env[len(prefix) :].isdigit():
        return int(execution_env[len(prefix) :])
    return 0


# From python3.12 on, Lambda writes non-ASCII characters of a response as they are.
RESPONSE_ENCODER = ResponseEncoder(allow_nan=True, ensure_ascii=runtime_minor_version() < 12)


def marshal_response(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return RESPONSE_ENCODER.encode(result).encode("utf-8"), "application/json"
    except Exception as error:
        raise FunctionError("Runtime.MarshalError", "Unable to marshal response: %s" % error)


def unmarshal_event(invocation):
    content_type = invocation.content_type
    if content_type is not None and content_type != "application/json":
        return invocation.body
    try:
        return json.loads(invocation.body)
    except Exception as error:
        raise FunctionError("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % error)


def load_handler(handler):
    """The function `_HANDLER` names: `module.function`, where the module may be a
    dotted or slashed path (`package.module.function`, `package/module.function`)."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as error:
        raise FunctionError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, error))
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FunctionError(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % module_name,
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise FunctionError(
            "Runtime.ImportModuleError",
            "Unable to import module '%s': %s" % (module_name, error),
        )
    except SyntaxError as error:
        where = '  File "%s" Line %s\n    %s' % (error.filename, error.lineno, error.text)
        raise FunctionError(
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module '%s': %s" % (module_name, error),
            [where],
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FunctionError(
            "Runtime.HandlerNotFound",
            "Handler '%s' missing on module '%s'" % (function_name, module_name),
        )


def log_error(document):
    """Writes an error to the log as Lambda does: one record, its lines joined by `\\r`."""
    lines = ["[ERROR] %s: %s" % (document["errorType"], document["errorMessage"])]
    lines.append("Traceback (most recent call last):")
    for element in document["stackTrace"]:
        lines.extend(element.splitlines())
    sys.stdout.write("\r".join(lines) + "\n")


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = current_request_id
        return True


class StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging():
    """Log records reach stdout as `[LEVEL]\\t<UTC time>Z\\t<request id>\\t<message>`."""
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler = StdoutHandler()
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        root.setLevel(level)
    elif level == "WARN":
        root.setLevel(logging.WARNING)
    elif level == "FATAL":
        root.setLevel(logging.CRITICAL)


class FlushingStream:
    """A text stream flushed after every write, so output reaches eddy's log at once."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        written = self._stream.write(text)
        self._stream.flush()
        return written

    def writelines(self, lines):
        self._stream.writelines(lines)
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def handle(api, handler, invocation):
    global current_request_id
    request_id = invocation.request_id
    current_request_id = request_id
    if invocation.trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = invocation.trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        context = LambdaContext(invocation)
        event = unmarshal_event(invocation)
        body, content_type = marshal_response(handler(event, context))
    except FunctionError as error:
        document = error_document(error.error_type, error.message, error.stack_trace, request_id)
    except Exception:
        document = document_for_exception(sys.exc_info(), request_id)
    else:
        mark_invocation_end(request_id)
        api.post_response(request_id, body, content_type)
        return
    log_error(document)
    mark_invocation_end(request_id)
    api.post_error(request_id, document)


def main():
    sys.stdout = FlushingStream(sys.stdout)
    sys.stderr = FlushingStream(sys.stderr)
    # Python put this script's directory first on the import path; the function's
    # modules are found in its task root instead.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(THIS_FILE):
        del sys.path[0]
    sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd())
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    setup_logging()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except FunctionError as error:
        document = error_document(error.error_type, error.message, error.stack_trace)
    except Exception:
        document = document_for_exception(sys.exc_info())
    else:
        document = None
    if document is not None:
        log_error(document)
        api.post_init_error(document)
        sys.exit(1)
    while True:
        handle(api, handler, api.next_invocation())


if __name__ == "__main__":
    main()
