/**
 * Admission control for the receivers: whether a request is worth reading at all, decided from
 * its headers, and how many bytes of request bodies may be in memory at once.
 *
 * A refusal after reading and decoding costs the server as much CPU as an acceptance: under
 * overload, when most requests are refused, that CPU is taken from the writes, and the accepted
 * rate falls far below capacity. So the receivers ask `admit` before they read a byte of the body:
 * - when the write queue cannot take the request (its pending spans, plus the spans of the
 *   requests admitted and still being read or decoded, plus this one's, estimated from its
 *   `Content-Length` and the bytes a span took in recent requests, exceed `maxPendingSpans`),
 *   the answer is 503 / UNAVAILABLE with a retry delay, at once; a body without `Content-Length`
 *   (chunked) is admitted as one span, and checked again once it is read, before it is decoded
 *   (`Reservation.confirm`);
 * - the bodies being read or decoded are bounded by a byte budget (`maxInflightBytes`), reserved
 *   from `Content-Length` before the read and grown as the bytes arrive (chunked bodies, or more
 *   bytes after decompression), released once the request is decoded (the write queue bounds the
 *   bodies it keeps after that). One request is always let through when nothing else is in flight,
 *   so a body larger than the whole budget (but within `--max-body`) is slow, never refused forever.
 *
 * It does not decide anything about one request's content (size limits, content types): the
 * receivers do.
 */

/** What admission needs to know of the write queue (`WriteQueue` has it). */
export interface QueueLoad {
  /** Spans accepted and not yet committed to the store, as counted against `maxPendingSpans`. */
  readonly load: number;
  /** How many of a request's spans count against `maxPendingSpans`. */
  charge(spans: number): number;
  /** Pending spans beyond which the queue refuses new requests. */
  readonly maxPendingSpans: number;
}

/** Options of `Admission`. */
export interface AdmissionOptions {
  readonly queue: QueueLoad;
  /** Bytes of request bodies being read or decoded at once, at most (see `memoryBudget`). */
  readonly maxInflightBytes: number;
  /** Seconds a refused client is told to wait (`Retry-After`, gRPC `RetryInfo`); default 1. */
  readonly retryAfterSeconds?: number;
}

/** Why a request was refused before its body was read (a metrics reason, see metrics.ts). */
export type AdmissionRefusal = 'queue_full' | 'body_budget';

/** A request let in: its reservation, to grow while reading and to release once decoded. */
export interface Admitted {
  readonly admitted: true;
  readonly reservation: Reservation;
}

/** A request refused from its headers: answer 503 / UNAVAILABLE with `retryAfterSeconds`. */
export interface Refused {
  readonly admitted: false;
  readonly reason: AdmissionRefusal;
  readonly retryAfterSeconds: number;
  readonly message: string;
}

/** Bytes a span takes on the wire, until the first decoded request tells better. */
const INITIAL_BYTES_PER_SPAN = 300;
/** Weight of the newest request in the running estimate of bytes per span. */
const ESTIMATE_WEIGHT = 0.2;

/**
 * One request's share of the in-flight budget. `grow` as bytes arrive beyond what was reserved;
 * `decoded` (or `release`, for a request that was not decoded) once its body is no longer needed
 * here. Both are idempotent after the first release.
 */
export class Reservation {
  private released = false;

  constructor(
    private readonly admission: Admission,
    /** Bytes reserved (at least the `Content-Length`). */
    public bytes: number,
    /** The spans this request is assumed to hold, counted against the queue until decoded. */
    public estimatedSpans: number,
    /** The body's size as declared (`Content-Length`), for the bytes-per-span estimate. */
    readonly declaredBytes: number | undefined,
  ) {}

  /** Grows the reservation to `total` bytes if the budget allows; false means stop reading (503). */
  grow(total: number): boolean {
    if (total <= this.bytes || this.released) return true;
    if (!this.admission.tryReserve(total - this.bytes, this.bytes)) return false;
    this.bytes = total;
    return true;
  }

  /**
   * The whole body is read (`bytes` of it): whether the queue can still take the spans it holds,
   * estimated again from its size. A chunked body (no `Content-Length`, as the OpenTelemetry JS
   * exporters send) was admitted as one span; without this check every such request would be
   * decoded, only for the queue to refuse most of them under overload, and decoding is what costs.
   * False: refuse it (503) before decoding.
   */
  confirm(): boolean {
    // A body with a `Content-Length` was estimated from it at admission (the estimate learns wire
    // bytes a span; its reservation may have grown by decompression, which says nothing more).
    return this.released || this.declaredBytes !== undefined || this.admission.confirm(this);
  }

  /** The request was decoded into `spans` spans: learn its bytes per span, release its bytes. */
  decoded(spans: number): void {
    if (!this.released && spans > 0) this.admission.learn((this.declaredBytes ?? this.bytes) / spans);
    this.release();
  }

  /** Gives the bytes back (the request was refused, failed, or is decoded). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.admission.give(this.bytes, this.estimatedSpans);
  }
}

/** Admission control shared by every receiver of one server: see the module comment. */
export class Admission {
  private reservedBytes = 0;
  private inflightSpans = 0;
  private bytesPerSpan = INITIAL_BYTES_PER_SPAN;
  private readonly retryAfterSeconds: number;

  constructor(private readonly options: AdmissionOptions) {
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }

  /** Bytes of bodies reserved now (being read or decoded). */
  get inflightBytes(): number {
    return this.reservedBytes;
  }

  /**
   * True when the queue is full already: refuse whatever the request holds (the gRPC receiver asks
   * this from the call's metadata, before its message arrives).
   */
  queueFull(): boolean {
    const { load, maxPendingSpans } = this.options.queue;
    return load > 0 && load + this.inflightSpans >= maxPendingSpans;
  }

  /**
   * Admits a request of `declaredBytes` (its `Content-Length`; undefined for a chunked body, whose
   * bytes are reserved as they arrive) or refuses it, from what is known before reading it.
   */
  admit(declaredBytes: number | undefined): Admitted | Refused {
    const bytes = declaredBytes ?? 0;
    const { queue } = this.options;
    const estimatedSpans = queue.charge(
      declaredBytes === undefined ? 1 : Math.max(1, Math.floor(bytes / this.bytesPerSpan)),
    );
    const { load, maxPendingSpans } = queue;
    // The queue itself refuses only when it already holds something: so does this.
    if (load > 0 && load + this.inflightSpans + estimatedSpans > maxPendingSpans)
      return this.refuse('queue_full', 'write queue is full; retry later');
    if (!this.tryReserve(bytes, 0))
      return this.refuse('body_budget', 'too many request bodies in memory at once; retry later');
    this.inflightSpans += estimatedSpans;
    return { admitted: true, reservation: new Reservation(this, bytes, estimatedSpans, declaredBytes) };
  }

  private refuse(reason: AdmissionRefusal, message: string): Refused {
    return { admitted: false, reason, retryAfterSeconds: this.retryAfterSeconds, message };
  }

  /**
   * Reserves `bytes` more if they fit, or if nothing but the asker's own `held` bytes is reserved
   * (one request always gets through).
   */
  tryReserve(bytes: number, held: number): boolean {
    if (this.reservedBytes - held > 0 && this.reservedBytes + bytes > this.options.maxInflightBytes) return false;
    this.reservedBytes += bytes;
    return true;
  }

  /** Returns a reservation's bytes and estimated spans. */
  give(bytes: number, spans: number): void {
    this.reservedBytes -= bytes;
    this.inflightSpans -= spans;
  }

  /** See `Reservation.confirm`. */
  confirm(reservation: Reservation): boolean {
    const { queue } = this.options;
    const spans = queue.charge(Math.max(1, Math.floor(reservation.bytes / this.bytesPerSpan)));
    if (spans <= reservation.estimatedSpans) return true;
    // As `admit`, and one request always gets through: refuse only beside others pending or in flight.
    const others = queue.load + this.inflightSpans - reservation.estimatedSpans;
    if (others > 0 && others + spans > queue.maxPendingSpans) return false;
    this.inflightSpans += spans - reservation.estimatedSpans;
    reservation.estimatedSpans = spans;
    return true;
  }

  /** Takes a decoded request's bytes per span into the running estimate. */
  learn(bytesPerSpan: number): void {
    this.bytesPerSpan += ESTIMATE_WEIGHT * (bytesPerSpan - this.bytesPerSpan);
  }
}
