import { type AnyValue, anyValueToText, type KeyValue, SPAN_KIND_NAMES, type Span, StatusCode } from '@ariadne/core';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { formatNanos, formatTimestamp } from '../format.ts';
import { copyText } from '../hooks.ts';
import { onLinkClick } from '../router.ts';
import type { TraceError } from '../trace-view.ts';

/** Props of `SpanDetail`. */
export interface SpanDetailProps {
  readonly span: Span;
  readonly color: string;
  /** Start of the trace, for event and span offsets. */
  readonly traceStart: bigint;
  readonly error: TraceError | undefined;
  /** Critical-path time spent in this span itself, if any. */
  readonly criticalNanos: number;
  readonly warnings: readonly string[];
  readonly onClose: () => void;
  /** Selects another span of the same trace by id (for links and parents). */
  readonly onSelectSpan: (spanId: string) => boolean;
}

/**
 * The span detail panel: name, service, timing, status, ids with copy buttons, attributes,
 * resource, scope, events with their times and links. Every string is rendered as text.
 */
export function SpanDetail(props: SpanDetailProps) {
  const { span } = props;
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  const offset = span.startTimeUnixNano - props.traceStart;
  const statusName =
    span.status.code === StatusCode.ERROR ? 'ERROR' : span.status.code === StatusCode.OK ? 'OK' : 'UNSET';
  return (
    <aside class="detail" aria-label="Span details" data-testid="span-detail">
      <div class="detail-head">
        <button type="button" class="btn ghost small close" aria-label="Close details" onClick={props.onClose}>
          ✕
        </button>
        <h2>{span.name}</h2>
        <div class="row" style={{ flexWrap: 'wrap', gap: '6px', justifyContent: 'flex-start' }}>
          <span class="svc-chip" style={{ flex: 'none' }}>
            <span class="svc-dot" style={{ background: props.color }} />
            {span.serviceName}
          </span>
          <span class="badge" style={{ flex: 'none' }}>
            {SPAN_KIND_NAMES[span.kind] ?? `kind ${span.kind}`}
          </span>
          <span
            class={`badge ${statusName === 'ERROR' ? 'error' : statusName === 'OK' ? 'ok' : ''}`}
            style={{ flex: 'none' }}
          >
            {statusName}
          </span>
          {props.error && (
            <span class={`badge ${props.error.outcome === 'swallowed' ? 'error' : 'warn'}`} style={{ flex: 'none' }}>
              error {props.error.outcome}
            </span>
          )}
        </div>
        <div class="trace-stats" style={{ margin: '10px 0 0', gap: '18px' }}>
          <Stat k="Duration" v={formatNanos(duration)} />
          <Stat k="Starts at" v={`+${formatNanos(offset)}`} />
          <Stat k="On critical path" v={props.criticalNanos > 0 ? formatNanos(props.criticalNanos) : '—'} />
        </div>
      </div>
      {span.status.message && (
        <div style={{ padding: '10px 14px 0' }}>
          <div class="banner error">
            <span class="icon">!</span>
            <div style={{ wordBreak: 'break-word' }}>{span.status.message}</div>
          </div>
        </div>
      )}
      {props.warnings.length > 0 && (
        <div style={{ padding: '10px 14px 0' }}>
          {props.warnings.map((w) => (
            <div class="banner warn" key={w}>
              <span class="icon">⚠</span>
              <div>{w}</div>
            </div>
          ))}
        </div>
      )}
      <Section title="Identifiers" open>
        <IdLine label="Trace" value={span.traceId} />
        <IdLine label="Span" value={span.spanId} />
        {span.parentSpanId ? (
          <IdLine label="Parent" value={span.parentSpanId} onOpen={() => props.onSelectSpan(span.parentSpanId)} />
        ) : (
          <div class="id-line">
            <span class="lbl">Parent</span>
            <span class="faint">none (root span)</span>
          </div>
        )}
        <div class="id-line">
          <span class="lbl">Start</span>
          {formatTimestamp(span.startTimeUnixNano)}
        </div>
        {span.traceState && <IdLine label="State" value={span.traceState} />}
      </Section>
      <Section title="Attributes" count={span.attributes.length} open>
        <KeyValues items={span.attributes} dropped={span.droppedAttributesCount} />
      </Section>
      <Section title="Events" count={span.events.length} open={span.events.length > 0}>
        {span.events.length === 0 && <div class="faint">No events.</div>}
        {span.events.map((ev, i) => (
          <div class="event-item" key={i}>
            <div>
              <span class="when">+{formatNanos(ev.timeUnixNano - span.startTimeUnixNano)}</span>
              <strong class={ev.name === 'exception' ? 'error-text' : ''}>{ev.name}</strong>
            </div>
            {ev.attributes.length > 0 && <KeyValues items={ev.attributes} dropped={ev.droppedAttributesCount} />}
          </div>
        ))}
        {span.droppedEventsCount > 0 && <div class="faint">{span.droppedEventsCount} events dropped</div>}
      </Section>
      <Section title="Links" count={span.links.length} open={span.links.length > 0}>
        {span.links.length === 0 && <div class="faint">No links.</div>}
        {span.links.map((link, i) => {
          const sameTrace = link.traceId === span.traceId;
          const href = `/trace/${link.traceId}?span=${link.spanId}`;
          return (
            <div class="event-item" key={i}>
              <div class="id-line">
                <a
                  href={href}
                  onClick={(e) => {
                    if (sameTrace && props.onSelectSpan(link.spanId)) e.preventDefault();
                    else onLinkClick(e, href);
                  }}
                >
                  {sameTrace ? 'span' : 'trace'} {link.traceId.slice(0, 8)}…/{link.spanId}
                </a>
              </div>
              {link.attributes.length > 0 && (
                <KeyValues items={link.attributes} dropped={link.droppedAttributesCount} />
              )}
            </div>
          );
        })}
      </Section>
      <Section title="Resource" count={span.resource.attributes.length}>
        <KeyValues items={span.resource.attributes} dropped={span.resource.droppedAttributesCount} />
      </Section>
      <Section title="Instrumentation scope">
        <table class="kv">
          <tbody>
            <tr>
              <td class="k">name</td>
              <td class="v">{span.scope.name || '—'}</td>
            </tr>
            <tr>
              <td class="k">version</td>
              <td class="v">{span.scope.version || '—'}</td>
            </tr>
          </tbody>
        </table>
        {span.scope.attributes.length > 0 && <KeyValues items={span.scope.attributes} dropped={0} />}
      </Section>
    </aside>
  );
}

function Stat(props: { k: string; v: string }) {
  return (
    <div class="stat">
      <span class="k">{props.k}</span>
      <span class="v">{props.v}</span>
    </div>
  );
}

function Section(props: { title: string; count?: number; open?: boolean; children: ComponentChildren }) {
  return (
    <details class="detail-section" open={props.open}>
      <summary>
        {props.title}
        {props.count !== undefined && <span class="badge">{props.count}</span>}
      </summary>
      <div class="body">{props.children}</div>
    </details>
  );
}

function typeLabel(value: AnyValue): string {
  return value.type === 'string' ? '' : value.type;
}

function KeyValues(props: { items: readonly KeyValue[]; dropped: number }) {
  if (props.items.length === 0 && props.dropped === 0) return <div class="faint">None.</div>;
  return (
    <table class="kv">
      <tbody>
        {props.items.map((kv, i) => (
          <tr key={i}>
            <td class="k">{kv.key}</td>
            <td class="v">
              {anyValueToText(kv.value)}
              {typeLabel(kv.value) && <span class="type">{typeLabel(kv.value)}</span>}
            </td>
          </tr>
        ))}
        {props.dropped > 0 && (
          <tr>
            <td class="k faint" colSpan={2}>
              {props.dropped} dropped
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}

/** An id with a copy button (and optionally a button that opens it). */
function IdLine(props: { label: string; value: string; onOpen?: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="id-line">
      <span class="lbl">{props.label}</span>
      {props.onOpen ? (
        <button type="button" class="link-button" title="Select the parent span" onClick={() => props.onOpen?.()}>
          {props.value}
        </button>
      ) : (
        <span style={{ wordBreak: 'break-all' }}>{props.value}</span>
      )}
      <button
        type="button"
        class="btn ghost small"
        aria-label={`Copy ${props.label.toLowerCase()} id`}
        onClick={() => {
          void copyText(props.value).then(() => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1200);
          });
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}
