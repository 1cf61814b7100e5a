/**
 * Body of a loader worker thread (started through ./batch-worker.js). Each request carries the
 * source it reads from (./source sourceForItems: shared memory or a short file list); it answers
 * one request at a time (the pool sends the next after the reply):
 *   { id, kind: 'batch', source, task, into }                  -> { id, x, y }  (x: the first values of
 *                                                                 `into`; buffers transferred both ways)
 *   { id, kind: 'decode', source, target, shape, firstSlot }   -> { id }        (writes shared memory)
 * A failing request answers { id, error } and the worker stays usable.
 */
import { parentPort } from 'worker_threads';
import { assembleBatch, decodeInto } from './batch';
import type { WorkerReply, WorkerRequest } from './worker-pool';

const port = parentPort;
if (!port) throw new Error('batch-worker-main must run in a worker thread');

port.on('message', async (request: WorkerRequest) => {
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (request.kind === 'batch') {
      const { x, y } = await assembleBatch(request.source, request.task, request.into);
      reply = { id: request.id, x, y };
      transfer = [x.buffer as ArrayBuffer, y.buffer as ArrayBuffer];
    } else {
      await decodeInto(request.source, request.target, request.shape, request.firstSlot);
      reply = { id: request.id };
    }
  } catch (e) {
    reply = { id: request.id, error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply, transfer);
});
