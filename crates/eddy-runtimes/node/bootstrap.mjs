// eddy's Lambda Runtime API client for Node.js functions (runtimes nodejs18.x to nodejs22.x).
//
// eddy starts `node bootstrap.mjs` with the environment Lambda gives a function
// (AWS_LAMBDA_RUNTIME_API, _HANDLER, LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME, ...).
// The script loads the handler named by _HANDLER (CommonJS, or an ES module: `.mjs`, or
// `.js` under a package.json with "type": "module"), reports a failure to do so the way
// Lambda's Node.js runtime does, then forever asks for the next event, calls the handler
// (async, promise-returning or callback-style) and posts the result or the error.
//
// Only Node's standard library is used, so nothing has to be installed with npm.

import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const require = createRequire(import.meta.url);
const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

// ---- errors -----------------------------------------------------------------------

/** An error class whose name is Lambda's `Runtime.<name>`. */
function runtimeError(name) {
  const errorClass = class extends Error {};
  errorClass.prototype.name = `Runtime.${name}`;
  return errorClass;
}

const ImportModuleError = runtimeError('ImportModuleError');
const HandlerNotFound = runtimeError('HandlerNotFound');
const MalformedHandlerName = runtimeError('MalformedHandlerName');
const UserCodeSyntaxError = runtimeError('UserCodeSyntaxError');
const NodeJsExit = runtimeError('NodeJsExit');

class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

function isErrorLike(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string'
  );
}

/** The document posted to the Runtime API for an error, as Node's runtime reports it. */
function errorDocument(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: error.stack.split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_unreadable) {
    return {
      errorType: 'handled',
      errorMessage: 'the error could not be read (its name, message or stack threw)',
    };
  }
}

function intoError(value) {
  return value instanceof Error ? value : new Error(value);
}

/** An error for the log: a tab, then JSON with its type, message, own fields and stack lines. */
function formatErrorForLog(error) {
  const expand = (_key, value) => {
    if (!(value instanceof Error)) {
      return value;
    }
    const expanded = Object.assign(
      { errorType: value.name, errorMessage: value.message, code: value.code },
      value,
    );
    if (typeof value.stack === 'string') {
      expanded.stack = value.stack.split('\n');
    }
    return expanded;
  };
  try {
    return '\t' + JSON.stringify(error, expand);
  } catch (_circular) {
    return '\t' + JSON.stringify(errorDocument(error));
  }
}

// ---- logging ----------------------------------------------------------------------

// The request being handled; `undefined` before the first event, printed as Lambda does.
let currentRequestId;

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/**
 * Printed on stdout and stderr after the handler finished, before its result is posted:
 * once eddy has read both, it has read everything the invocation printed (the mark
 * itself is not logged). Writes to pipes are synchronous on Linux, so the order holds.
 */
const INVOCATION_END_MARK = '\x1feddy-invocation-end ';

function markInvocationEnd(requestId) {
  process.stdout.write(`${INVOCATION_END_MARK}${requestId}\n`);
  process.stderr.write(`${INVOCATION_END_MARK}${requestId}\n`);
}

/** console.* write `<ISO time>\t<request id>\t<LEVEL>\t<message>`, one line per call. */
function patchConsole() {
  const wanted = LEVELS.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase());
  const lowest = wanted === -1 ? 0 : wanted;
  const logger = (level) => {
    if (LEVELS.indexOf(level) < lowest && level !== 'FATAL') {
      return () => {};
    }
    return (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
      process.stdout.write(line.replace(/\n/g, '\r') + '\n');
    };
  };
  console.trace = logger('TRACE');
  console.debug = logger('DEBUG');
  console.info = logger('INFO');
  console.log = console.info;
  console.warn = logger('WARN');
  console.error = logger('ERROR');
  console.fatal = logger('FATAL');
}

function logError(label, error) {
  console.error(label, formatErrorForLog(intoError(error)));
}

// ---- the Runtime API --------------------------------------------------------------

class RuntimeApi {
  constructor(address) {
    const colon = address.lastIndexOf(':');
    this.hostname = address.slice(0, colon);
    this.port = Number(address.slice(colon + 1));
    // Idle keep-alive sockets are unreferenced, so they never keep the event loop alive.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  call(method, apiPath, body, headers = {}) {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path: API_PREFIX + apiPath,
          method,
          agent: this.agent,
          headers:
            body === undefined
              ? headers
              : { ...headers, 'Content-Length': Buffer.byteLength(body) },
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              headers: response.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  async nextInvocation() {
    const answer = await this.call('GET', '/invocation/next');
    if (answer.status !== 200) {
      throw new Error(`the Runtime API answered ${answer.status} to invocation/next: ${answer.body}`);
    }
    return answer;
  }

  async post(apiPath, body, headers) {
    const answer = await this.call('POST', apiPath, body, headers);
    if (answer.status !== 202) {
      // The invocation is no longer waiting (it timed out, for example): say so and carry on.
      process.stderr.write(`the Runtime API answered ${answer.status} to ${apiPath}: ${answer.body}\n`);
    }
  }

  postResponse(requestId, body) {
    markInvocationEnd(requestId);
    return this.post(`/invocation/${encodeURIComponent(requestId)}/response`, body, {
      'Content-Type': 'application/json',
    });
  }

  postError(apiPath, error) {
    const document = errorDocument(error);
    return this.post(apiPath, JSON.stringify(document), {
      'Content-Type': 'application/json',
      [ERROR_TYPE_HEADER]: String(document.errorType),
    });
  }

  postInvocationError(requestId, error) {
    markInvocationEnd(requestId);
    return this.postError(`/invocation/${encodeURIComponent(requestId)}/error`, error);
  }

  postInitError(error) {
    return this.postError('/init/error', error);
  }
}

// ---- loading the handler ----------------------------------------------------------

/** Whether `<file>.js` is an ES module: the nearest package.json says "type": "module". */
function isEsModulePackage(file) {
  if (!fs.existsSync(file + '.js')) {
    return false;
  }
  let folder = path.dirname(path.resolve(file + '.js'));
  for (;;) {
    if (folder.endsWith('/node_modules')) {
      return false;
    }
    const packageJson = path.join(folder, 'package.json');
    if (fs.existsSync(packageJson)) {
      try {
        return JSON.parse(fs.readFileSync(packageJson, 'utf8'))?.type === 'module';
      } catch (error) {
        console.warn(`${packageJson} cannot be read; it is ignored when telling ES modules apart.`, error);
        return false;
      }
    }
    const parent = path.dirname(folder);
    if (parent === folder) {
      return false;
    }
    folder = parent;
  }
}

/** Loads the module the way Lambda's Node.js runtime looks for it. */
async function loadModule(appRoot, moduleRoot, moduleName) {
  const file = path.resolve(appRoot, moduleRoot, moduleName);
  const importFile = async (name) => import(pathToFileURL(name).href);
  try {
    if (fs.existsSync(file)) {
      return require(file);
    }
    const esModule = isEsModulePackage(file);
    if (fs.existsSync(file + '.js')) {
      return esModule ? await importFile(file + '.js') : require(file + '.js');
    }
    if (fs.existsSync(file + '.mjs')) {
      return await importFile(file + '.mjs');
    }
    if (fs.existsSync(file + '.cjs')) {
      return require(file + '.cjs');
    }
    return require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new UserCodeSyntaxError(error);
    }
    if (error?.code === 'MODULE_NOT_FOUND') {
      throw new ImportModuleError(error);
    }
    throw error;
  }
}

/** The function `_HANDLER` names: `[dir/]module.function[.nested]`. */
async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const moduleAndFunction = path.basename(fullHandler);
  const moduleRoot = fullHandler.slice(0, fullHandler.indexOf(moduleAndFunction));
  const match = moduleAndFunction.match(/^([^.]*)\.(.*)$/);
  if (!match) {
    throw new MalformedHandlerName('Bad handler');
  }
  const [, moduleName, functionPath] = match;
  const loaded = await loadModule(appRoot, moduleRoot, moduleName);
  const handler = functionPath.split('.').reduce((object, key) => object && object[key], loaded);
  if (!handler) {
    throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  }
  if (typeof handler !== 'function') {
    throw new HandlerNotFound(`${fullHandler} is not a function`);
  }
  return handler;
}

// ---- running invocations ----------------------------------------------------------

const api = new RuntimeApi(process.env.AWS_LAMBDA_RUNTIME_API ?? '');

// What to do when the event loop runs empty: finish a callback-style invocation.
let onEmptyEventLoop = () => {};
process.on('beforeExit', () => onEmptyEventLoop());

// What an uncaught exception or unhandled rejection fails: initialisation, then the
// invocation in progress. Either way the process then exits, as on Lambda.
let failUncaught = (error, exitCode) => {
  api.postInitError(error).finally(() => process.exit(exitCode));
};
process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  failUncaught(error, 129);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', error);
  failUncaught(error, 128);
});

function parseHeaderJson(value, name) {
  if (value === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new Error(`Cannot parse ${name} as json: ${error.toString()}`);
  }
}

/** The handler's ways to finish (callback, context.succeed/fail/done); only the first counts. */
function completions(requestId, scheduleNext) {
  let finished = false;
  let posted = false;
  let waitsForEmptyEventLoop = true;
  const postError = (error) => {
    logError('Invoke Error', error);
    api.postInvocationError(requestId, error).then(scheduleNext, exitOnApiFailure);
  };
  const postResult = (result) => {
    if (posted) {
      console.error('The invocation was already reported as done; a second result is ignored.');
      return;
    }
    posted = true;
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (_unserialisable) {
      postError(new Error('Unable to stringify response body'));
      return;
    }
    api.postResponse(requestId, body).then(scheduleNext, exitOnApiFailure);
  };
  const once = (finish) => (...args) => {
    if (!finished) {
      finished = true;
      finish(...args);
    }
  };
  const done = (error, result) => {
    onEmptyEventLoop = () => {};
    if (error !== undefined && error !== null) {
      postError(error);
    } else {
      postResult(result);
    }
  };
  const callback = (error, result) => {
    onEmptyEventLoop = () => {};
    if (error !== undefined && error !== null) {
      postError(error);
    } else if (!waitsForEmptyEventLoop) {
      postResult(result);
    } else {
      onEmptyEventLoop = () => setImmediate(() => postResult(result));
    }
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitsForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitsForEmptyEventLoop = value;
    },
    succeed: once((result) => done(null, result)),
    fail: once((error) => done(error ?? 'handled')),
    done: once(done),
  };
  const markPosted = () => {
    posted = true;
  };
  return { callback: once(callback), context, postResult, postError, markPosted };
}

function exitOnApiFailure(error) {
  process.stderr.write(`the Runtime API cannot be reached: ${error}\n`);
  process.exit(1);
}

function isAsyncFunction(handler) {
  return handler?.constructor?.name === 'AsyncFunction';
}

async function handleNext(handler) {
  const scheduleNext = () => setImmediate(() => handleNext(handler).catch(exitOnApiFailure));
  const invocation = await api.nextInvocation();
  const headers = invocation.headers;
  const requestId = headers['lambda-runtime-aws-request-id'];
  currentRequestId = requestId;
  const finish = completions(requestId, scheduleNext);
  failUncaught = (error, exitCode) => {
    api.postInvocationError(requestId, error).finally(() => process.exit(exitCode));
  };
  // A handler that never finishes: an async one fails, any other succeeds with null.
  onEmptyEventLoop = () => {
    finish.markPosted();
    if (isAsyncFunction(handler)) {
      const error = new NodeJsExit(
        'The event loop ran empty before the async handler settled its promise (a promise that never settles, most often).',
      );
      logError('Invoke Error', error);
      api.postInvocationError(requestId, error).then(scheduleNext, exitOnApiFailure);
    } else {
      api.postResponse(requestId, 'null').then(scheduleNext, exitOnApiFailure);
    }
  };
  try {
    if (headers['lambda-runtime-trace-id']) {
      process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
    } else {
      delete process.env._X_AMZN_TRACE_ID;
    }
    const deadline = Number(headers['lambda-runtime-deadline-ms']);
    const context = Object.assign(finish.context, {
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      clientContext: parseHeaderJson(headers['lambda-runtime-client-context'], 'ClientContext'),
      identity: parseHeaderJson(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      awsRequestId: requestId,
      tenantId: headers['lambda-runtime-aws-tenant-id'],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    });
    const result = handler(JSON.parse(invocation.body), context, finish.callback);
    if (typeof result?.then === 'function') {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (error) {
    finish.callback(error);
  }
}

patchConsole();
const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
let handler;
try {
  handler = await loadHandler(appRoot, process.env._HANDLER ?? '');
} catch (error) {
  logError('Uncaught Exception', error);
  await api.postInitError(error).catch(() => {});
  process.exit(129);
}
setImmediate(() => handleNext(handler).catch(exitOnApiFailure));
