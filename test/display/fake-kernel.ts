/**
 * An in-process stand-in for the alignmix kernel (lib/display/kernel-api.ts) for unit tests: it
 * records, in one ordered log, every comm_open / comm_msg / comm_close the library sends and every
 * display / clear_output, and lets a test play the frontend (send comm messages, open comms).
 * `install()` puts it where `kernelApi()` looks; `uninstall()` removes it.
 */
import { KERNEL_API_KEY, KernelApi, KernelComm } from '../../lib/display/kernel-api';

export type Sent =
  | { kind: 'open'; commId: string; target: string; data: Record<string, any>; metadata: Record<string, any> | undefined }
  | { kind: 'msg'; commId: string; data: Record<string, any> }
  | { kind: 'close'; commId: string }
  | { kind: 'display'; bundle: Record<string, any>; displayId: string | undefined; update: boolean }
  | { kind: 'clear'; wait: boolean; parent: string | undefined };

class FakeComm implements KernelComm {
  messageHandlers: ((data: Record<string, unknown>, buffers: ArrayBuffer[]) => void)[] = [];
  closeHandlers: ((data: Record<string, unknown>) => void)[] = [];
  closed = false;

  constructor(readonly id: string, readonly targetName: string, private readonly log: Sent[]) {}

  send(data: object): void {
    if (this.closed) throw new Error(`comm ${this.id} is closed`);
    // A JSON round trip, as on the wire: what the frontend would receive.
    this.log.push({ kind: 'msg', commId: this.id, data: JSON.parse(JSON.stringify(data)) });
  }

  close(): void {
    this.closed = true;
    this.log.push({ kind: 'close', commId: this.id });
  }

  onMessage(handler: (data: Record<string, unknown>, buffers: ArrayBuffer[]) => void): void {
    this.messageHandlers.push(handler);
  }

  onClose(handler: (data: Record<string, unknown>) => void): void {
    this.closeHandlers.push(handler);
  }
}

export class FakeKernel implements KernelApi {
  readonly log: Sent[] = [];
  readonly comms = new Map<string, FakeComm>();
  readonly targets = new Map<string, (comm: KernelComm, data: Record<string, unknown>, buffers: ArrayBuffer[]) => void>();
  /** What currentParentMsgId() answers: the request "being handled". */
  parent: string | undefined = 'execute-1';
  private nextId = 0;

  install(): this {
    (globalThis as Record<symbol, unknown>)[KERNEL_API_KEY] = this;
    return this;
  }

  static uninstall(): void {
    delete (globalThis as Record<symbol, unknown>)[KERNEL_API_KEY];
  }

  openComm(targetName: string, data: object, opts: { metadata?: object } = {}): KernelComm {
    const comm = new FakeComm(`comm-${++this.nextId}`, targetName, this.log);
    this.comms.set(comm.id, comm);
    this.log.push({
      kind: 'open', commId: comm.id, target: targetName, data: JSON.parse(JSON.stringify(data)),
      metadata: opts.metadata && JSON.parse(JSON.stringify(opts.metadata)),
    });
    return comm;
  }

  registerCommTarget(targetName: string, onOpen: (comm: KernelComm, data: Record<string, unknown>, buffers: ArrayBuffer[]) => void): void {
    this.targets.set(targetName, onOpen);
  }

  display(bundle: Record<string, unknown>, opts: { displayId?: string; update?: boolean } = {}): void {
    this.log.push({ kind: 'display', bundle: JSON.parse(JSON.stringify(bundle)), displayId: opts.displayId, update: opts.update ?? false });
  }

  clearOutput(wait = false): void {
    this.log.push({ kind: 'clear', wait: wait, parent: this.parent });
  }

  currentParentMsgId(): string | undefined {
    return this.parent;
  }

  onInterrupt(): () => void {
    return () => undefined;
  }

  page(): void {
    throw new Error('FakeKernel: page() is not part of the widget tests');
  }

  registerRenderer(): void {
    throw new Error('FakeKernel: registerRenderer() is not part of the widget tests');
  }

  input(): Promise<string> {
    return Promise.reject(new Error('FakeKernel: input() is not part of the widget tests'));
  }

  /** The frontend sends `data` on comm `commId` while handling request `parent`. */
  fromFrontend(commId: string, data: Record<string, unknown>, parent = `comm-msg-${commId}`): void {
    const comm = this.comms.get(commId);
    if (!comm) throw new Error(`no comm ${commId}`);
    const before = this.parent;
    this.parent = parent;
    try {
      for (const handler of comm.messageHandlers) handler(JSON.parse(JSON.stringify(data)), []);
    } finally {
      this.parent = before;
    }
  }

  /** The frontend opens a comm on `target`; returns its id. */
  frontendOpens(target: string): string {
    const onOpen = this.targets.get(target);
    if (!onOpen) throw new Error(`no comm target ${target}`);
    const comm = new FakeComm(`frontend-${++this.nextId}`, target, this.log);
    this.comms.set(comm.id, comm);
    onOpen(comm, {}, []);
    return comm.id;
  }

  /** The log entries since `mark` (an index into the log), and a new mark. */
  since(mark: number): Sent[] {
    return this.log.slice(mark);
  }

  /** The comm_open of the widget with id `commId`. */
  opened(commId: string): Extract<Sent, { kind: 'open' }> {
    const open = this.log.find((s): s is Extract<Sent, { kind: 'open' }> => s.kind === 'open' && s.commId === commId);
    if (!open) throw new Error(`no comm_open for ${commId}`);
    return open;
  }
}
