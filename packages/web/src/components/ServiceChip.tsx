import { serviceColor } from '../colors.ts';

/** A service name with its colour swatch. The name is rendered as text. */
export function ServiceChip(props: { service: string; color?: string }) {
  return (
    <span class="svc-chip" title={props.service}>
      <span class="svc-dot" style={{ background: props.color ?? serviceColor(props.service) }} />
      {props.service}
    </span>
  );
}
