/** Promise-shaped unary calls over a generic grpc-js Client, with a deadline and an AbortSignal. */
import { Metadata, status, type Client, type MethodDefinition, type ServiceError } from '@grpc/grpc-js';

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  metadata?: Metadata;
}

export function unary<Req, Res>(
  client: Client,
  method: MethodDefinition<Req, Res>,
  request: Req,
  options: CallOptions = {},
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const callOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      options.metadata ?? new Metadata(),
      callOptions,
      (err, res) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res as Res);
      },
    );
    const onAbort = () => call.cancel();
    if (options.signal?.aborted) call.cancel();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** The status name (`UNAVAILABLE`, ...) of a gRPC error, or `UNKNOWN`. */
export function statusName(err: unknown): string {
  if (!isServiceError(err)) return 'UNKNOWN';
  return status[err.code] ?? String(err.code);
}

export function hasStatus(err: unknown, code: status): boolean {
  return isServiceError(err) && err.code === code;
}
